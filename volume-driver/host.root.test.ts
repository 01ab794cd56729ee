/**
 * The driver on the real host: tmpfs and loop-backed ext4 mounts, size limits that really refuse
 * writes, copies, usage, a restart that leaves mounts in use alone, and directory volumes below a
 * host root (`--host-root`) with the state directory a bind mount. Everything lives in a fresh
 * `/tmp/tstest-vol-…` directory, unmounted, detached and removed after each test even on failure.
 */
import { chown, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it, onTestFinished } from 'vitest';
import { isUnder } from '../common/kernel/mount-info.js';
import { attachLoop, detachLoop, ensureLoopFs, ext4UsableBytes, listLoops } from '../common/kernel/loop.js';
import { bindMount, listMounts, mountTmpfs, unmountUnder } from '../common/kernel/mount.js';
import { createLogger } from '../common/log.js';
import { volumeRequests } from '../common/protocol/volume-api.js';
import { MemoryStore } from '../common/store/memory-store.js';
import { isRoot } from '../testing/kernel/netns.js';
import { openVolumes } from './plugin.js';
import { refusal } from '../testing/refusal.js';

const ID1 = 'd'.repeat(64);
const ID2 = 'e'.repeat(64);
const MiB = 2 ** 20;
const log = createLogger({ stream: new PassThrough() });

/** A fresh `/tmp/tstest-vol-…` directory, cleaned of mounts, loop devices and files after the test. */
async function testDir(): Promise<string> {
  const dir = await mkdtemp('/tmp/tstest-vol-');
  onTestFinished(async () => {
    await unmountUnder(dir, { lazy: true });
    for (const l of await listLoops()) if (isUnder(l.backingFile, dir)) await detachLoop(l.backingFile);
    // Never rm -r across a mount point.
    if ((await listMounts(dir)).length === 0) await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

/** The plugin opened on `dir` with the real host; `reopen` starts it again on the same store. */
async function plugin(dir: string) {
  const store = new MemoryStore();
  const open = () => openVolumes({ stateDir: dir, store, log });
  const p = { ...(await open()), store, data: (name: string) => join(dir, 'volumes', name, '_data') };
  return {
    ...p,
    create: (Name: string, Opts: Record<string, string>) => p.driver.create(volumeRequests.Create.parse({ Name, Opts })),
    reopen: async () => Object.assign(p, await open()),
    mountOf: async (name: string) => (await listMounts(p.data(name))).at(-1),
  };
}

const loopsOf = async (dir: string) => (await listLoops()).filter((l) => isUnder(l.backingFile, dir));

describe.skipIf(!isRoot)('loop images (common/kernel/loop.ts)', () => {
  it('makes a sparse ext4 image with room for its size once, attaches it once, and detaches it even after deletion', async () => {
    const dir = await testDir();
    const image = join(dir, 'disk.ext4');
    expect(await ensureLoopFs(image, 64 * MiB)).toBe(true);
    expect(await ensureLoopFs(image, 64 * MiB)).toBe(false);
    const usable = await ext4UsableBytes(image);
    expect(usable).toBeLessThanOrEqual(64 * MiB);
    expect(usable).toBeGreaterThan(64 * MiB * 0.995);
    const st = await stat(image);
    expect(st.size).toBeGreaterThan(64 * MiB);
    expect(st.blocks * 512).toBeLessThan(16 * MiB);
    const device = await attachLoop(image);
    expect(device).toMatch(/^\/dev\/loop\d+$/);
    expect(await attachLoop(image)).toBe(device);
    await rm(image);
    expect((await loopsOf(dir)).map((l) => [l.device, l.deleted])).toEqual([[device, true]]);
    expect(await detachLoop(image)).toBe(1);
    expect(await detachLoop(image)).toBe(0);
    expect(await loopsOf(dir)).toEqual([]);
  });
});

describe.skipIf(!isRoot)('volumes on the real host', () => {
  it('limits a local volume to its size on any filesystem, and removes it without a trace', async () => {
    const dir = await testDir();
    const p = await plugin(dir);
    await p.create('big', { size: '8m', uid: '1000', mode: '0770' });
    const m = await p.mountOf('big');
    expect(m).toMatchObject({ fstype: 'ext4', mountOptions: expect.arrayContaining(['nosuid', 'nodev']) });
    const root = await stat(p.data('big'));
    expect([root.uid, root.mode & 0o7777]).toEqual([1000, 0o770]);
    expect((await p.driver.get({ Name: 'big' })).Volume.Status.AvailableBytes).toBeGreaterThan(8 * MiB - 64 * 1024);
    await expect(writeFile(join(p.data('big'), 'fill'), Buffer.alloc(8 * MiB + 64 * 1024))).rejects.toMatchObject({ code: 'ENOSPC' });
    await rm(join(p.data('big'), 'fill'));
    await writeFile(join(p.data('big'), 'fits'), Buffer.alloc(8 * MiB - 256 * 1024));
    const { Status } = (await p.driver.get({ Name: 'big' })).Volume;
    expect(Status).toMatchObject({ Backing: 'ext4 image', SizeLimitBytes: 8 * MiB, Mounted: true });
    expect(Status.UsedBytes).toBeGreaterThan(7 * MiB);
    expect(Status.AvailableBytes).toBeLessThan(MiB);
    await rm(join(p.data('big'), 'fits'));
    await p.driver.remove({ Name: 'big' });
    expect(await listMounts(dir)).toEqual([]);
    expect(await loopsOf(dir)).toEqual([]);
  });

  it('refuses to remove a volume while anything is mounted below it, reading the mount table afresh at each Remove', async () => {
    const dir = await testDir();
    const p = await plugin(dir);
    await p.create('held', {});
    await writeFile(join(p.data('held'), 'keep'), 'x');
    const below = join(p.data('held'), 'sub dir', 'deeper');
    await mountTmpfs(below, { source: 'tstest' });
    await expect(p.driver.remove({ Name: 'held' })).rejects.toThrow(refusal('ERR_VOLUME_BUSY', /still has mounts/));
    expect(await readFile(join(p.data('held'), 'keep'), 'utf8')).toBe('x');
    expect((await p.driver.get({ Name: 'held' })).Volume.Name).toBe('held');
    await unmountUnder(below);
    await p.driver.remove({ Name: 'held' });
    await p.driver.drain();
    await expect(stat(join(dir, 'volumes', 'held'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await listMounts(dir)).toEqual([]);
  });

  it('mounts a tmpfs volume on first use, shares it, and unmounts it after the last user', async () => {
    const dir = await testDir();
    const p = await plugin(dir);
    await p.create('scratch', { type: 'tmpfs', size: '4m', uid: '1000', mode: '750', noexec: '' });
    expect(await p.mountOf('scratch')).toBeUndefined();
    await p.driver.mount({ Name: 'scratch', ID: ID1 });
    const m = await p.mountOf('scratch');
    expect(m?.fstype).toBe('tmpfs');
    expect(m?.mountOptions).toEqual(expect.arrayContaining(['nosuid', 'nodev', 'noexec']));
    expect(m?.superOptions).toEqual(expect.arrayContaining(['size=4096k', 'mode=750', 'uid=1000']));
    await expect(writeFile(join(p.data('scratch'), 'fill'), Buffer.alloc(5 * MiB))).rejects.toMatchObject({ code: 'ENOSPC' });
    await rm(join(p.data('scratch'), 'fill'));
    await writeFile(join(p.data('scratch'), 'note'), 'shared');
    await p.driver.mount({ Name: 'scratch', ID: ID2 });
    await p.driver.unmount({ Name: 'scratch', ID: ID1 });
    expect(await readFile(join(p.data('scratch'), 'note'), 'utf8')).toBe('shared');
    await p.driver.unmount({ Name: 'scratch', ID: ID2 });
    expect(await p.mountOf('scratch')).toBeUndefined();
    await expect(stat(join(p.data('scratch'), 'note'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('leaves a tmpfs in use alone across a restart and unmounts an idle one', async () => {
    const dir = await testDir();
    const p = await plugin(dir);
    await p.create('busy', { type: 'tmpfs' });
    await p.create('idle', { type: 'tmpfs' });
    await p.driver.mount({ Name: 'busy', ID: ID1 });
    await writeFile(join(p.data('busy'), 'keep'), 'x');
    const before = (await p.mountOf('busy'))?.id;
    await mountTmpfs(p.data('idle')); // as if the plugin died between mount and store write
    await p.reopen();
    expect((await p.mountOf('busy'))?.id).toBe(before);
    expect(await readFile(join(p.data('busy'), 'keep'), 'utf8')).toBe('x');
    expect(await p.mountOf('idle')).toBeUndefined();
    expect((await p.driver.get({ Name: 'busy' })).Volume.Status.MountCount).toBe(1);
  });

  it('copies a volume with from=, keeping owners, and measures a directory volume', async () => {
    const dir = await testDir();
    const p = await plugin(dir);
    await p.create('src', {});
    await writeFile(join(p.data('src'), 'data.bin'), Buffer.alloc(1536 * 1024, 7));
    await chown(join(p.data('src'), 'data.bin'), 1234, 4321);
    await p.create('copy', { from: 'src', size: '4m' });
    const copied = await stat(join(p.data('copy'), 'data.bin'));
    expect([copied.size, copied.uid, copied.gid]).toEqual([1536 * 1024, 1234, 4321]);
    const { Volumes } = await p.admin.list({ Fresh: true });
    const src = Volumes.find((v) => v.Name === 'src');
    expect(src?.Status.UsedBytes).toBeGreaterThanOrEqual(1536 * 1024);
    await expect(p.create('big', { from: 'src', size: '1m' })).rejects.toThrow(refusal('ERR_PLUGIN', /volume "big": .*No space left on device/));
    await expect(p.driver.list()).resolves.toEqual({ Volumes: [expect.objectContaining({ Name: 'copy' }), expect.objectContaining({ Name: 'src' })] });
    expect(await loopsOf(dir)).toHaveLength(1);
  });
});

describe.skipIf(!isRoot)('directory volumes below a host root on the real host (--host-root)', () => {
  it('binds the host directory from below the root and refuses the state directory through a real bind mount of it', async () => {
    const dir = await testDir();
    const hostRoot = join(dir, 'host');
    await mkdir(join(hostRoot, 'srv/data'), { recursive: true });
    await mkdir(join(hostRoot, 'var/tsnet'), { recursive: true });
    await writeFile(join(hostRoot, 'srv/data/from-host'), 'host\n');
    // As in the managed plugin: the state is a bind mount of a host directory the plugin never names.
    const stateDir = join(dir, 'state');
    await bindMount(join(hostRoot, 'var/tsnet'), stateDir);
    const { driver } = await openVolumes({ stateDir, store: new MemoryStore(), log, hostRoot });
    const create = (Name: string, Opts: Record<string, string>) => driver.create(volumeRequests.Create.parse({ Name, Opts }));
    await create('hd', { path: '/srv/data' });
    expect((await driver.get({ Name: 'hd' })).Volume.Status.Path).toBe('/srv/data');
    const { Mountpoint } = await driver.mount({ Name: 'hd', ID: ID1 });
    expect(await readFile(join(Mountpoint, 'from-host'), 'utf8')).toBe('host\n');
    await writeFile(join(Mountpoint, 'from-container'), 'container\n');
    expect(await readFile(join(hostRoot, 'srv/data/from-container'), 'utf8')).toBe('container\n');
    await driver.unmount({ Name: 'hd', ID: ID1 });
    expect((await listMounts(Mountpoint)).length).toBe(0);
    for (const path of ['/var/tsnet', '/var/tsnet/volumes']) {
      await expect(create('st', { path })).rejects.toThrow(refusal('ERR_VOLUME_PATH_REFUSED', `is refused at create: it is the suite's state directory (${stateDir} in this process) or under it`));
    }
    await driver.remove({ Name: 'hd' });
    await driver.drain();
    expect((await readdir(join(hostRoot, 'srv/data'))).sort()).toEqual(['from-container', 'from-host']);
  });
});
