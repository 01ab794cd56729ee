/**
 * Directory volumes (`-o path=`) with the recording fake host and real temporary directories: the
 * refused places (also through symlinks), create=true, sharing, the symlink swapped in after Create
 * refused at Mount, and Remove never touching the user's directory. No root.
 */
import { mkdir, mkdtemp, readdir, realpath, rm, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../common/protocol/errors.js';
import { createUnitFixture, type UnitFixture } from '../testing/fixture-unit.js';
import { VolumePathRefusedError, VolumePathSharedError } from './directory.js';
import { refusalOf } from './directory-rules.js';
import { refusal } from '../../testing/refusal.js';

const ID = 'a'.repeat(64);
let fx: UnitFixture;
let user: string;

beforeEach(async () => {
  fx = await createUnitFixture();
  user = await mkdtemp(join(tmpdir(), 'tstest-vol-dir-'));
});

afterEach(async () => {
  await fx.cleanup();
  await rm(user, { recursive: true, force: true });
});

describe('refusalOf', () => {
  it.each([
    ['/', /root directory/],
    ['/proc', /it is \/proc /],
    ['/proc/1/root', /under \/proc/],
    ['/sys/fs', /under \/sys/],
    ['/dev', /it is \/dev/],
    ['/run/docker', /under \/run/],
    ['/var/lib/tsnet', /the suite's state directory/],
    ['/var/lib/tsnet/volumes/x', /under the suite's state directory/],
    ['/var/lib', /contains the suite's state directory/],
  ])('refuses %s', (path, why) => {
    expect(refusalOf(path, '/var/lib/tsnet')).toMatch(why);
  });

  it.each(['/srv/data', '/var/lib/tsnet-other', '/proc2', '/home/u/run'])('accepts %s', (path) => {
    expect(refusalOf(path, '/var/lib/tsnet')).toBeUndefined();
  });
});

describe('directory volumes', () => {
  it('bind the directory while in use, show it in Status, and leave it (with its files) after remove', async () => {
    await writeFile(join(user, 'hello.txt'), 'hi');
    await fx.create('d1', { path: user });
    const { Volume } = await fx.driver.get({ Name: 'd1' });
    expect(Volume.Status).toMatchObject({ Type: 'dir', Backing: 'host directory', Path: user, Mounted: false, MountCount: 0 });
    expect(await fx.driver.mount({ Name: 'd1', ID })).toEqual({ Mountpoint: fx.data('d1') });
    expect(fx.host.mounts.get(fx.data('d1'))).toBe(`bind ${user}`);
    await fx.driver.unmount({ Name: 'd1', ID });
    expect(fx.host.mounts.has(fx.data('d1'))).toBe(false);
    await fx.driver.remove({ Name: 'd1' });
    await fx.driver.drain();
    expect(await readdir(user)).toEqual(['hello.txt']);
    expect(await fx.records()).toEqual([]);
  });

  it('refuses a missing directory unless create=true, then makes it with owner and mode', async () => {
    const dir = join(user, 'a', 'b');
    await expect(fx.create('d2', { path: dir })).rejects.toThrow(refusal('ERR_INVALID_REQUEST', /does not exist; make it first or add -o create=true/));
    await fx.create('d2', { path: dir, create: 'true', uid: '1234', mode: '750' });
    expect((await stat(dir)).isDirectory()).toBe(true);
    expect(fx.host.calls).toContain(`setRoot ${dir} uid=1234,mode=750`);
  });

  it.each([
    ['/', /refused at create: it is the root directory/],
    ['/proc/self', /refused at create: it is under \/proc/],
    ['/sys', /refused at create: it is \/sys/],
    ['/dev/shm', /refused at create: it is under \/dev/],
    ['/run/lock', /refused at create: it is under \/run/],
  ])('refuses %s, naming the rule, and records nothing', async (path, why) => {
    const err = await fx.create('bad', { path }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VolumePathRefusedError);
    expect((err as Error).message).toMatch(why);
    expect((err as Error).message).toMatch(/^volume "bad": /);
    expect(await fx.records()).toEqual([]);
  });

  it("refuses the suite's state directory, anything under it, and a directory containing it", async () => {
    for (const path of [fx.stateDir, join(fx.stateDir, 'volumes'), join(fx.stateDir, '..')]) {
      await expect(fx.create('bad', { path })).rejects.toThrow(VolumePathRefusedError);
    }
    await expect(fx.create('bad', { path: join(fx.stateDir, 'new'), create: 'true' })).rejects.toThrow(refusal('ERR_VOLUME_PATH_REFUSED', /state directory/));
    await expect(stat(join(fx.stateDir, 'new'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses a path that reaches a refused place through a symlink, also below a missing part with create=true', async () => {
    await symlink('/proc', join(user, 'link'));
    await expect(fx.create('bad', { path: join(user, 'link') })).rejects.toThrow(refusal('ERR_VOLUME_PATH_REFUSED', /resolves to "\/proc" \(through a symlink\), which is refused at create/));
    await expect(fx.create('bad', { path: join(user, 'link', 'new'), create: 'true' })).rejects.toThrow(VolumePathRefusedError);
    expect(await fx.records()).toEqual([]);
  });

  it('refuses at mount a symlink swapped in after create, to a refused place or anywhere else', async () => {
    const real = join(user, 'real');
    await mkdir(real);
    const link = join(user, 'data');
    await symlink(real, link);
    await fx.create('d3', { path: link });
    expect((await fx.driver.get({ Name: 'd3' })).Volume.Status.Path).toBe(real);
    for (const target of ['/proc', '/etc', user]) {
      await unlink(link);
      await symlink(target, link);
      const err = await fx.driver.mount({ Name: 'd3', ID }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(VolumePathRefusedError);
      expect((err as Error).message).toMatch(/refused at mount/);
      expect(fx.host.mounts.size).toBe(0);
    }
    expect((await fx.driver.get({ Name: 'd3' })).Volume.Status.MountCount).toBe(0);
    await unlink(link);
    await symlink(real, link);
    await fx.driver.mount({ Name: 'd3', ID });
    expect(fx.host.mounts.get(fx.data('d3'))).toBe(`bind ${real}`);
  });

  it('refuses a second volume on the same directory unless both say shared=true', async () => {
    await fx.create('s1', { path: user });
    await expect(fx.create('s2', { path: user })).rejects.toThrow(VolumePathSharedError);
    await expect(fx.create('s2', { path: user, shared: 'true' })).rejects.toThrow(refusal('ERR_VOLUME_PATH_SHARED', /"s1" did not set -o shared=true/));
    await fx.driver.remove({ Name: 's1' });
    await fx.create('s1', { path: user, shared: 'true' });
    await fx.create('s2', { path: join(user, '.'), shared: 'true' });
    expect((await fx.driver.list()).Volumes.map((v) => v.Name)).toEqual(['s1', 's2']);
  });

  it('is not a file, takes no from=, and is not copied by from=', async () => {
    await writeFile(join(user, 'f'), '');
    await expect(fx.create('f1', { path: join(user, 'f') })).rejects.toThrow(refusal('ERR_INVALID_REQUEST', /is not a directory/));
    await expect(fx.create('f1', { path: user, from: 'x1' })).rejects.toThrow(InvalidRequestError);
    await fx.create('src', { path: user });
    await expect(fx.create('copy', { from: 'src' })).rejects.toThrow(refusal('ERR_INVALID_REQUEST', /from=src names a host directory volume, which from= does not copy/));
  });

  it('are bound for an export lease and unbound when it ends; import is refused for a non-empty one', async () => {
    await writeFile(join(user, 'f'), 'x');
    await fx.create('d5', { path: user });
    const { Lease, Mountpoint } = await fx.admin.acquire({ Name: 'd5', Purpose: 'export', Pid: process.pid });
    expect(Mountpoint).toBe(fx.data('d5'));
    expect(fx.host.mounts.get(fx.data('d5'))).toBe(`bind ${user}`);
    await fx.admin.release({ Name: 'd5', Lease });
    expect(fx.host.mounts.has(fx.data('d5'))).toBe(false);
    await expect(fx.admin.acquire({ Name: 'd5', Purpose: 'import', Pid: process.pid })).rejects.toThrow(refusal('ERR_CONFLICT'));
  });

  it('binds again at start for a volume in use, checking the path again', async () => {
    await fx.create('d4', { path: user });
    await fx.driver.mount({ Name: 'd4', ID });
    fx.host.mounts.clear();
    await fx.reopen();
    expect(fx.host.mounts.get(fx.data('d4'))).toBe(`bind ${user}`);
  });
});

describe('directory volumes below a host root (--host-root, the managed plugin)', () => {
  let root: string;
  let rx: UnitFixture;

  beforeEach(async () => {
    root = await realpath(await mkdtemp(join(tmpdir(), 'tstest-vol-hostroot-')));
    for (const d of ['srv/data', 'proc', 'etc', 'var']) await mkdir(join(root, d), { recursive: true });
    await writeFile(join(root, 'srv/data/f'), 'x');
    // The state directory inside the root, as the host mount shows the plugin its own state mount.
    rx = await createUnitFixture({ hostRoot: root, stateParent: join(root, 'var') });
  });

  afterEach(async () => {
    await rx.cleanup();
    await rm(root, { recursive: true, force: true });
  });

  it('keeps the host path in Status, binds and measures it below the root, and leaves it after remove', async () => {
    await rx.create('h1', { path: '/srv/data' });
    expect((await rx.driver.get({ Name: 'h1' })).Volume.Status.Path).toBe('/srv/data');
    await rx.driver.mount({ Name: 'h1', ID });
    expect(rx.host.mounts.get(rx.data('h1'))).toBe(`bind ${root}/srv/data`);
    await rx.driver.unmount({ Name: 'h1', ID });
    rx.host.usage.set(join(root, 'srv/data'), 12288);
    const { Lease, UsedBytes } = await rx.admin.acquire({ Name: 'h1', Purpose: 'export', Pid: process.pid });
    expect(UsedBytes).toBe(12288);
    await rx.admin.release({ Name: 'h1', Lease });
    await rx.driver.remove({ Name: 'h1' });
    await rx.driver.drain();
    expect(await readdir(join(root, 'srv/data'))).toEqual(['f']);
  });

  it('follows symlinks as the host would: an absolute target from the root, .. never above it', async () => {
    await symlink('/srv/data', join(root, 'etc/abs'));
    await symlink('../../../../../../../../srv/data', join(root, 'etc/rel'));
    await rx.create('a1', { path: '/etc/abs' });
    expect((await rx.driver.get({ Name: 'a1' })).Volume.Status.Path).toBe('/srv/data');
    await expect(rx.create('a3', { path: '/etc/rel' })).rejects.toThrow(refusal('ERR_VOLUME_PATH_SHARED', '"/etc/rel" (/srv/data) already backs volume "a1"'));
  });

  it('applies the rules to the resolved host path, whatever this process would find at the same path', async () => {
    await symlink('/proc', join(root, 'srv/p'));
    await expect(rx.create('bad', { path: '/srv/p' })).rejects.toThrow(refusal('ERR_VOLUME_PATH_REFUSED', 'path "/srv/p" resolves to "/proc" (through a symlink), which is refused at create: it is /proc'));
    // A directory this process has does not exist below the root.
    await expect(rx.create('bad', { path: '/usr/share' })).rejects.toThrow(refusal('ERR_INVALID_REQUEST', /does not exist; make it first or add -o create=true/));
    await symlink('/srv/loop', join(root, 'srv/loop'));
    await expect(rx.create('bad', { path: '/srv/loop' })).rejects.toThrow(refusal('ERR_INVALID_REQUEST', /follows more than 40 symbolic links/));
    expect(await rx.records()).toEqual([]);
  });

  it("refuses the state directory by identity, at its host path this process never named", async () => {
    const hostPath = `/var/${basename(rx.stateDir)}`;
    for (const path of [hostPath, `${hostPath}/volumes`]) {
      await expect(rx.create('bad', { path })).rejects.toThrow(refusal('ERR_VOLUME_PATH_REFUSED', `it is the suite's state directory (${rx.stateDir} in this process) or under it`));
    }
    await expect(rx.create('bad', { path: `${hostPath}/new/dir`, create: 'true' })).rejects.toThrow(refusal('ERR_VOLUME_PATH_REFUSED', /state directory/));
    await expect(stat(join(rx.stateDir, 'new'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('makes a missing directory below the root with create=true, through a link, with owner and mode', async () => {
    await symlink('/srv', join(root, 'etc/s'));
    await rx.create('c1', { path: '/etc/s/new/deep', create: 'true', uid: '1234', mode: '750' });
    expect((await stat(join(root, 'srv/new/deep'))).isDirectory()).toBe(true);
    expect(rx.host.calls).toContain(`setRoot ${root}/srv/new/deep uid=1234,mode=750`);
    expect((await rx.driver.get({ Name: 'c1' })).Volume.Status.Path).toBe('/srv/new/deep');
  });

  it('refuses at mount a link swapped in after create, judged inside the root', async () => {
    await mkdir(join(root, 'srv/other'));
    await symlink('/srv/data', join(root, 'srv/link'));
    await rx.create('s1', { path: '/srv/link' });
    await unlink(join(root, 'srv/link'));
    await symlink('/srv/other', join(root, 'srv/link'));
    await expect(rx.driver.mount({ Name: 's1', ID })).rejects.toThrow(refusal('ERR_VOLUME_PATH_REFUSED', 'path "/srv/link" now resolves to "/srv/other", not "/srv/data" as at create'));
    await unlink(join(root, 'srv/link'));
    await symlink('/srv/link', join(root, 'srv/link'));
    await expect(rx.driver.mount({ Name: 's1', ID })).rejects.toThrow(refusal('ERR_VOLUME_PATH_REFUSED', /follows more than 40 symbolic links.*refused at mount/));
    expect(rx.host.mounts.size).toBe(0);
  });
});
