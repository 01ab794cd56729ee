/**
 * Start-up reconciliation with the fake host: a restart after `kill -9` leaves mounts in use alone,
 * a reboot leaves tmpfs volumes existing but empty, and what no record owns is swept.
 */
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NotFoundError } from '../common/protocol/errors.js';
import { VOLUMES_COLLECTION, type VolumeRecord } from './record.js';
import { createUnitFixture, type UnitFixture } from './testing/fixture-unit.js';

const ID1 = 'a'.repeat(64);
const ID2 = 'b'.repeat(64);
let fx: UnitFixture;

beforeEach(async () => {
  fx = await createUnitFixture();
  await fx.create('tm', { type: 'tmpfs' });
  await fx.driver.mount({ Name: 'tm', ID: ID1 });
  await fx.driver.mount({ Name: 'tm', ID: ID2 });
  fx.host.calls.length = 0;
});

afterEach(() => fx.cleanup());

describe('restart after kill -9', () => {
  it('keeps the counts and never unmounts a tmpfs that containers use', async () => {
    await fx.reopen();
    expect(fx.host.calls.filter((c) => c.startsWith('unmount'))).toEqual([]);
    expect(fx.host.mounts.has(fx.data('tm'))).toBe(true);
    expect((await fx.driver.get({ Name: 'tm' })).Volume.Status).toMatchObject({ MountCount: 2, Mounted: true });
    await fx.driver.unmount({ Name: 'tm', ID: ID1 });
    await fx.driver.unmount({ Name: 'tm', ID: ID2 });
    expect(fx.host.mounts.has(fx.data('tm'))).toBe(false);
  });

  it('mounts again a tmpfs in use that is missing, and unmounts one nobody uses', async () => {
    await fx.create('idle', { type: 'tmpfs' });
    fx.host.mounts.delete(fx.data('tm'));
    fx.host.mounts.set(fx.data('idle'), 'tmpfs');
    await fx.reopen();
    expect(fx.host.mounts.has(fx.data('tm'))).toBe(true);
    expect(fx.host.mounts.has(fx.data('idle'))).toBe(false);
  });

  it('undoes an interrupted create, finishes an interrupted remove, and reclaims empty leftovers', async () => {
    await fx.create('half', { size: '2m' });
    await fx.create('going');
    const col = fx.store.collection<VolumeRecord>(VOLUMES_COLLECTION);
    await col.put('half', { ...(await col.get('half'))!, state: 'creating' });
    await rename(join(fx.root, 'going'), join(fx.root, '.trash-going-0a0b0c0d'));
    await mkdir(join(fx.root, 'crashed-create', '_data'), { recursive: true });
    await fx.reopen();
    expect((await fx.records()).map(([n]) => n)).toEqual(['tm']);
    expect(await readdir(fx.root)).toEqual(['tm']);
    expect(fx.host.loops).toEqual([]);
  });

  it('recreates the missing directory of a volume it knows', async () => {
    await fx.create('v1');
    await rm(join(fx.root, 'v1'), { recursive: true });
    await fx.reopen();
    expect(await readdir(fx.data('v1'))).toEqual([]);
  });

  it('drops leases of processes that are gone', async () => {
    await fx.create('v1');
    const { Lease } = await fx.admin.acquire({ Name: 'v1', Purpose: 'export', Pid: 4242 });
    fx.host.deadPids.add(4242);
    await fx.reopen();
    expect((await fx.store.collection<VolumeRecord>(VOLUMES_COLLECTION).get('v1'))?.leases).toEqual({});
    await expect(fx.admin.release({ Name: 'v1', Lease })).rejects.toThrow(NotFoundError);
  });

  it('removes mounts and loop devices no record owns, and leaves stray directories with data alone', async () => {
    const stray = join(fx.root, 'ghost', '_data');
    await mkdir(stray, { recursive: true });
    await writeFile(join(stray, 'precious'), 'x');
    fx.host.mounts.set(stray, 'tmpfs');
    fx.host.loops.push({ device: '/dev/loop9', backingFile: join(fx.root, 'ghost', 'disk.ext4'), deleted: true });
    fx.host.loops.push({ device: '/dev/loop8', backingFile: '/elsewhere/disk.img', deleted: false });
    await fx.reopen();
    expect(fx.host.calls).toContain(`unmount ${stray}`);
    expect(fx.host.calls).toContain('detachLoops /dev/loop9');
    expect(fx.host.loops.map((l) => l.device)).toEqual(['/dev/loop8']);
    expect(await readdir(fx.root)).toContain('ghost');
  });
});

describe('restart after a reboot', () => {
  beforeEach(() => {
    fx.host.boot = 'boot-2';
    fx.host.mounts.clear();
  });

  it('keeps the tmpfs volume, empty and unmounted, with no live mounts', async () => {
    await fx.reopen();
    const { Volume } = await fx.driver.get({ Name: 'tm' });
    expect(Volume.Status).toMatchObject({ MountCount: 0, Mounted: false, UsedBytes: 0 });
    expect(fx.host.mounts.size).toBe(0);
    await expect(fx.driver.remove({ Name: 'tm' })).resolves.toEqual({});
  });

  it("accepts dockerd's clean-up Unmount of a mount from before the reboot once", async () => {
    await fx.reopen();
    await expect(fx.driver.unmount({ Name: 'tm', ID: ID1 })).resolves.toEqual({});
    await expect(fx.driver.unmount({ Name: 'tm', ID: ID1 })).rejects.toThrow(NotFoundError);
    expect(fx.host.calls.filter((c) => c.startsWith('unmount '))).toHaveLength(1); // the start-up release only
  });

  it('mounts size-limited volumes again', async () => {
    await fx.create('big', { size: '2m' });
    fx.host.mounts.clear();
    fx.host.loops = [];
    await fx.reopen();
    expect(fx.host.mounts.get(fx.data('big'))).toBe(join(fx.root, 'big', 'disk.ext4'));
  });
});
