/**
 * tsvol with a mount dir (`--mount-dir`, what the managed plugin uses): Mountpoints are published as
 * `<mountDir>/<name>` bind mounts of the data while a volume is in use, made again at start-up for
 * volumes in use and swept for the others. Recording fake host, in-memory store, no root.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createUnitFixture, type UnitFixture } from './testing/fixture-unit.js';
import { refusal } from '../testing/refusal.js';

const ID1 = '1'.repeat(64);
const ID2 = '2'.repeat(64);

let fx: UnitFixture;
let mnt: string;
const published = (name: string) => join(mnt, name);

beforeEach(async () => {
  fx = await createUnitFixture({ mountDir: true });
  mnt = fx.mountDir!;
});

afterEach(() => fx.cleanup());

describe('with a mount dir', () => {
  it('gives dockerd <mountDir>/<name> everywhere and binds the data there at the first Mount only while in use', async () => {
    await fx.create('v1', { size: '10m' });
    expect(await fx.driver.list()).toEqual({ Volumes: [{ Name: 'v1', Mountpoint: published('v1') }] });
    expect(await fx.driver.path({ Name: 'v1' })).toEqual({ Mountpoint: published('v1') });
    expect((await fx.driver.get({ Name: 'v1' })).Volume.Mountpoint).toBe(published('v1'));
    expect(fx.host.mounts.has(published('v1'))).toBe(false);

    expect(await fx.driver.mount({ Name: 'v1', ID: ID1 })).toEqual({ Mountpoint: published('v1') });
    expect(fx.host.calls).toContain(`bind ${fx.data('v1')} ${published('v1')}`);
    expect(fx.host.mounts.get(published('v1'))).toBe(`bind ${fx.data('v1')}`);
    await fx.driver.mount({ Name: 'v1', ID: ID2 });

    await fx.driver.unmount({ Name: 'v1', ID: ID1 });
    expect(fx.host.mounts.has(published('v1'))).toBe(true);
    await fx.driver.unmount({ Name: 'v1', ID: ID2 });
    expect(fx.host.mounts.has(published('v1'))).toBe(false);
    // The ext4 image stays mounted on the data directory: only the published bind is gone.
    expect(fx.host.mounts.has(fx.data('v1'))).toBe(true);
  });

  it('publishes a tmpfs volume after mounting its tmpfs, and unpublishes before unmounting it', async () => {
    await fx.create('tm', { type: 'tmpfs' });
    await fx.driver.mount({ Name: 'tm', ID: ID1 });
    const mountCalls = fx.host.calls.filter((c) => c.startsWith('mountTmpfs') || c.startsWith('bind'));
    expect(mountCalls.map((c) => c.split(' ')[0])).toEqual(['mountTmpfs', 'bind']);
    fx.host.calls.length = 0;
    await fx.driver.unmount({ Name: 'tm', ID: ID1 });
    expect(fx.host.calls).toEqual([`unmount ${published('tm')}`, `unmount ${fx.data('tm')}`]);
  });

  it('publishes volumes in use again at start-up and unmounts published Mountpoints no volume in use owns', async () => {
    await fx.create('used');
    await fx.create('idle');
    await fx.driver.mount({ Name: 'used', ID: ID1 });
    // A new process has a new mount namespace: nothing published survives it.
    fx.host.mounts.clear();
    fx.host.mounts.set(published('idle'), 'bind leftover');
    fx.host.mounts.set(published('gone'), 'bind leftover');
    await fx.reopen();
    expect(fx.host.mounts.get(published('used'))).toBe(`bind ${fx.data('used')}`);
    expect(fx.host.mounts.has(published('idle'))).toBe(false);
    expect(fx.host.mounts.has(published('gone'))).toBe(false);
  });

  it('does not publish after a reboot: the earlier mounts are stale until dockerd mounts again', async () => {
    await fx.create('v1');
    await fx.driver.mount({ Name: 'v1', ID: ID1 });
    fx.host.mounts.clear();
    fx.host.boot = 'boot-2';
    await fx.reopen();
    expect(fx.host.mounts.has(published('v1'))).toBe(false);
    expect(await fx.driver.mount({ Name: 'v1', ID: ID2 })).toEqual({ Mountpoint: published('v1') });
    expect(fx.host.mounts.has(published('v1'))).toBe(true);
  });

  it('refuses to remove a volume in use and leaves its published Mountpoint alone', async () => {
    await fx.create('v1');
    await fx.driver.mount({ Name: 'v1', ID: ID1 });
    await expect(fx.driver.remove({ Name: 'v1' })).rejects.toThrow(refusal('ERR_CONFLICT'));
    expect(fx.host.mounts.has(published('v1'))).toBe(true);
    await fx.driver.unmount({ Name: 'v1', ID: ID1 });
    await fx.driver.remove({ Name: 'v1' });
    expect([...fx.host.mounts.keys()]).toEqual([]);
  });
});
