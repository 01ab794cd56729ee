import { describe, expect, it } from 'vitest';
import { KernelArgumentError } from './errors.js';
import {
  isUnder,
  mountContaining,
  mountsAt,
  mountsUnder,
  overlayOptions,
  parseMountInfo,
  tmpfsOptions,
  unescapeMountField,
} from './mount-info.js';

const MOUNTINFO = [
  '22 27 0:21 / /proc rw,relatime - proc proc rw',
  '27 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw',
  '40 27 0:50 / /tmp/x\\040y rw,nosuid,nodev,relatime shared:20 - tmpfs my\\040vol rw,size=65536k,mode=755',
  '41 40 254:1 /srv/data /tmp/x\\040y/bind ro,relatime shared:1 - ext4 /dev/vda1 rw',
  '42 27 0:51 / /tmp/x\\040y rw,relatime - tmpfs tmpfs rw',
  '43 27 0:52 / /merged rw,relatime - overlay overlay rw,lowerdir=/l1:/l2,upperdir=/u\\040p,workdir=/w',
  'garbage line',
].join('\n');

describe('parseMountInfo', () => {
  const mounts = parseMountInfo(MOUNTINFO);

  it('parses every field and decodes octal escapes', () => {
    expect(mounts).toHaveLength(6);
    expect(mounts[2]).toEqual({
      id: 40,
      parentId: 27,
      device: '0:50',
      root: '/',
      mountPoint: '/tmp/x y',
      mountOptions: ['rw', 'nosuid', 'nodev', 'relatime'],
      optionalFields: ['shared:20'],
      fstype: 'tmpfs',
      source: 'my vol',
      superOptions: ['rw', 'size=65536k', 'mode=755'],
    });
    expect(mounts[0]?.optionalFields).toEqual([]);
    expect(mounts[5]?.superOptions).toContain('upperdir=/u p');
  });

  it('decodes tab, newline and backslash', () => {
    expect(unescapeMountField('a\\011b\\012c\\134d')).toBe('a\tb\nc\\d');
  });

  it('finds stacked mounts and the mount a path lives on', () => {
    expect(mountsAt(mounts, '/tmp/x y').map((m) => m.id)).toEqual([40, 42]);
    expect(mountContaining(mounts, '/tmp/x y/bind/file')?.id).toBe(41);
    expect(mountContaining(mounts, '/tmp/x y/other')?.id).toBe(42);
    expect(mountContaining(mounts, '/etc/passwd')?.id).toBe(27);
  });

  it('lists the mounts at or below a prefix, written with escapes or not, and none below a prefix that only shares characters', () => {
    const ids = (prefix: string) => mountsUnder(MOUNTINFO, prefix).map((m) => m.id);
    expect(ids('/tmp/x y')).toEqual([40, 41, 42]);
    expect(ids('/tmp/x y/')).toEqual([40, 41, 42]);
    expect(ids('/tmp/x y/bind')).toEqual([41]);
    expect(ids('/tmp/x')).toEqual([]);
    expect(ids('/srv/data')).toEqual([]); // a bind's root field is not a mount point
    expect(ids('/nowhere')).toEqual([]);
    expect(ids('/')).toEqual([22, 27, 40, 41, 42, 43]);
    expect(mountsUnder('50 27 0:60 / /a\\134b\\011c rw - tmpfs t rw', '/a\\b\tc').map((m) => m.id)).toEqual([50]);
  });

  it('compares paths by component', () => {
    expect(isUnder('/a/b/c', '/a/b')).toBe(true);
    expect(isUnder('/a/b', '/a/b/')).toBe(true);
    expect(isUnder('/a/bc', '/a/b')).toBe(false);
    expect(isUnder('/anything', '/')).toBe(true);
  });
});

describe('tmpfsOptions', () => {
  it('always has nosuid,nodev and renders each option', () => {
    expect(tmpfsOptions({})).toEqual(['nosuid', 'nodev']);
    expect(tmpfsOptions({ size: 1048576, mode: 0o1777, uid: 1000, gid: 1000, nrInodes: 500, noexec: true })).toEqual([
      'nosuid', 'nodev', 'noexec', 'size=1048576', 'mode=1777', 'uid=1000', 'gid=1000', 'nr_inodes=500',
    ]);
    expect(tmpfsOptions({ size: '64m', mode: '755' })).toEqual(['nosuid', 'nodev', 'size=64m', 'mode=755']);
  });

  it.each([[{ size: '64m,exec' }], [{ size: -1 }], [{ mode: '0999' }], [{ uid: 1.5 }], [{ mode: 'rwx' }]])('rejects %j', (opts) => {
    expect(() => tmpfsOptions(opts)).toThrow(KernelArgumentError);
  });
});

describe('overlayOptions', () => {
  it('joins lower directories top-most first', () => {
    expect(overlayOptions(['/a', '/b'], '/u', '/w')).toEqual(['lowerdir=/a:/b', 'upperdir=/u', 'workdir=/w']);
  });

  it.each([[['/a:b']], [['/a,b']], [['rel']], [[]]])('rejects lower %j', (lower) => {
    expect(() => overlayOptions(lower, '/u', '/w')).toThrow(KernelArgumentError);
  });

  it('refuses more lower directories than overlayfs stacks or mount(2) options can carry', () => {
    const dirs = (n: number, len: number) => Array.from({ length: n }, (_, i) => `/${String(i).padStart(len - 1, 'x')}`);
    expect(overlayOptions(dirs(500, 4), '/u', '/w')[0]).toHaveLength(9 + 500 * 5 - 1);
    expect(() => overlayOptions(dirs(501, 4), '/u', '/w')).toThrow(KernelArgumentError);
    const fits = overlayOptions(dirs(90, 40), '/u', '/w').join(',');
    expect(fits.length).toBeLessThanOrEqual(4095);
    expect(() => overlayOptions(dirs(100, 40), '/u', '/w')).toThrow(KernelArgumentError);
    // The byte count is what the message is for: the operator sees how far over the limit the image is.
    expect(() => overlayOptions(dirs(100, 40), '/u', '/w')).toThrow(/4131 bytes/);
  });
});
