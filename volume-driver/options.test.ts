import { describe, expect, it } from 'vitest';
import { parseVolumeOptions, redactOptions } from './options.js';
import { refusal } from '../testing/refusal.js';

const parse = (opts: Record<string, string>) => parseVolumeOptions('v', opts);

describe('parseVolumeOptions', () => {
  it('defaults to a plain local volume', () => {
    expect(parse({})).toEqual({ type: 'local' });
  });

  it('reads every local option', () => {
    expect(parse({ size: '64m', uid: '1000', gid: '100', mode: '0750', from: 'other' })).toEqual({
      type: 'local',
      sizeBytes: 64 * 2 ** 20,
      uid: 1000,
      gid: 100,
      mode: 0o750,
      from: 'other',
    });
  });

  it('reads every tmpfs option, noexec with or without a value', () => {
    expect(parse({ type: 'tmpfs', size: '16m', mode: '1777', uid: '1', gid: '2', nr_inodes: '500', noexec: '' })).toEqual({
      type: 'tmpfs',
      sizeBytes: 16 * 2 ** 20,
      mode: 0o1777,
      uid: 1,
      gid: 2,
      nrInodes: 500,
      noexec: true,
    });
    expect(parse({ type: 'tmpfs', noexec: 'false' }).noexec).toBe(false);
  });

  it("accepts the local driver's tmpfs form: device=tmpfs and o=…", () => {
    expect(parse({ type: 'tmpfs', device: 'tmpfs', o: 'size=100m,uid=1000,nosuid,nodev,noexec' })).toEqual({
      type: 'tmpfs',
      sizeBytes: 100 * 2 ** 20,
      uid: 1000,
      noexec: true,
    });
  });

  it.each([
    [{ type: 'nfs' }, /type "nfs" is not supported; use type=local .* type=tmpfs or type=dir/],
    [{ colour: 'red' }, /option "colour" is unknown; valid options for type=local: size, uid, gid, mode, from, from-snapshot$/],
    [{ nr_inodes: '5' }, /option "nr_inodes" applies only to type=tmpfs/],
    [{ type: 'tmpfs', from: 'x' }, /option "from" applies only to type=local; valid options for type=tmpfs: size, uid, gid, mode, nr_inodes, noexec, device, o/],
    [{ type: 'tmpfs', o: 'size=1m,exec' }, /option "exec" \(in o=size=1m,exec\) is unknown/],
    [{ type: 'tmpfs', size: '1m', o: 'size=2m' }, /option "size" is given twice with different values/],
    [{ size: '12q' }, /size "12q" is not valid: expected a number of bytes with an optional unit/],
    [{ size: '10%' }, /size "10%" is not valid/],
    [{ size: '512k' }, /size "512k" is not valid: expected at least 1m/],
    [{ type: 'tmpfs', size: '0' }, /size "0" is not valid: expected more than 0/],
    [{ uid: '-1' }, /uid "-1" is not valid: expected a numeric user ID/],
    [{ gid: 'staff' }, /gid "staff" is not valid/],
    [{ mode: '999' }, /mode "999" is not valid: expected an octal mode/],
    [{ type: 'tmpfs', nr_inodes: '0' }, /nr_inodes "0" is not valid/],
    [{ type: 'tmpfs', noexec: 'maybe' }, /noexec "maybe" is not valid: expected true or false/],
    [{ type: 'tmpfs', device: '/dev/sda1' }, /device "\/dev\/sda1" is not valid/],
    [{ from: '../etc' }, /from "..\/etc" is not valid: expected the name of an existing tsvol volume/],
    [{ path: 'srv/data' }, /path "srv\/data" is not valid: expected an absolute path .*relative paths are refused/],
    [{ type: 'dir' }, /type=dir needs -o path=/],
    [{ path: '/srv/d', size: '1g' }, /option "size" applies only to type=local; valid options for type=dir: path, create, uid, gid, mode, shared/],
    [{ path: '/srv/d', create: 'sometimes' }, /create "sometimes" is not valid: expected true or false/],
    [{ 'from-snapshot': 'vol' }, /from-snapshot "vol" is not valid: expected VOLUME@SNAPSHOT/],
    [{ 'from-snapshot': 'vol@../x' }, /from-snapshot "vol@..\/x" is not valid/],
    [{ from: 'a1', 'from-snapshot': 'a1@s1' }, /from and from-snapshot exclude each other/],
  ])('refuses %j', (opts, message) => {
    expect(() => parse(opts as Record<string, string>)).toThrow(refusal('ERR_INVALID_REQUEST', message));
  });
});

describe('directory and snapshot options', () => {
  it('path= implies type=dir; create and shared are flags', () => {
    expect(parse({ path: '/srv/data', create: 'true', shared: '', mode: '750', uid: '1000' })).toEqual({
      type: 'dir',
      path: '/srv/data',
      create: true,
      shared: true,
      mode: 0o750,
      uid: 1000,
    });
  });

  it('from-snapshot= names a volume and a snapshot', () => {
    expect(parse({ 'from-snapshot': 'db@nightly.1' })).toEqual({ type: 'local', fromSnapshot: { volume: 'db', snapshot: 'nightly.1' } });
  });
});

describe('redactOptions', () => {
  it('hides values of secret-looking keys and passwords in URLs, and nothing else', () => {
    expect(
      redactOptions({ size: '1g', password: 'hunter2', apiToken: 'abc', sshkey: 'k', url: 'sftp://bob:pw@host/x', plain: 'http://host/x' }),
    ).toEqual({ size: '1g', password: '<redacted>', apiToken: '<redacted>', sshkey: '<redacted>', url: 'sftp://bob:<redacted>@host/x', plain: 'http://host/x' });
  });
});
