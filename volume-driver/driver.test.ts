/**
 * The driver's decisions with a recording fake host and the in-memory store: names, options, mount
 * counting by (name, ID), refusals that change nothing, rollback, and the Status it reports. No root.
 */
import { readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, InvalidRequestError, NotFoundError, PluginError } from '../common/protocol/errors.js';
import { VOLUMES_COLLECTION } from './record.js';
import { createUnitFixture, type UnitFixture } from './testing/fixture-unit.js';
import { refusal } from '../testing/refusal.js';

const ID1 = '1'.repeat(64);
const ID2 = '2'.repeat(64);

let fx: UnitFixture;
let root: string;
let host: UnitFixture['host'];
let driver: UnitFixture['driver'];
const data = (name: string) => fx.data(name);
const create = (name: string, opts?: Record<string, string> | null) => fx.create(name, opts);
const records = () => fx.records();
const reopen = async () => {
  await fx.reopen();
  driver = fx.driver;
};

beforeEach(async () => {
  fx = await createUnitFixture();
  ({ root, host, driver } = fx);
});

afterEach(() => fx.cleanup());

describe('create', () => {
  it('makes a local volume as a directory and reports it in Get and List', async () => {
    await create('v1');
    expect((await stat(data('v1'))).isDirectory()).toBe(true);
    expect((await stat(join(root, 'v1'))).mode & 0o777).toBe(0o700);
    const { Volume } = await driver.get({ Name: 'v1' });
    expect(Volume).toMatchObject({ Name: 'v1', Mountpoint: data('v1'), Status: { Type: 'local', Backing: 'directory', MountCount: 0, UsedBytes: 0 } });
    expect(Volume.CreatedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(await driver.list()).toEqual({ Volumes: [{ Name: 'v1', Mountpoint: data('v1') }] });
    expect(host.calls).toEqual([`setRoot ${data('v1')} `]);
  });

  it('makes, mounts and owns an ext4 image for a size-limited local volume', async () => {
    await create('big', { size: '10m', uid: '1000', mode: '700' });
    const image = join(root, 'big', 'disk.ext4');
    expect(host.calls).toEqual([`makeImage ${image} ${10 * 2 ** 20}`, `mountImage ${image} ${data('big')}`, `setRoot ${data('big')} uid=1000,mode=700`]);
    const { Volume } = await driver.get({ Name: 'big' });
    expect(Volume.Status).toMatchObject({ Type: 'local', Backing: 'ext4 image', SizeLimit: '10 MiB', SizeLimitBytes: 10 * 2 ** 20, Mounted: true });
  });

  it('creates a tmpfs volume without mounting it', async () => {
    await create('tm', { type: 'tmpfs', size: '1m' });
    expect(host.mounts.size).toBe(0);
    expect((await driver.get({ Name: 'tm' })).Volume.Status).toMatchObject({ Type: 'tmpfs', Mounted: false, UsedBytes: 0, MountCount: 0 });
  });

  it('copies another volume with from=, then applies owner and mode', async () => {
    await create('src');
    host.calls.length = 0;
    await create('copy', { from: 'src', mode: '750' });
    expect(host.calls).toEqual([`copyTree ${data('src')} ${data('copy')}`, `setRoot ${data('copy')} mode=750`]);
  });

  it('is idempotent for the same options and refuses other options', async () => {
    await create('v1', { size: '2m' });
    await expect(create('v1', { size: '2m' })).resolves.toEqual({});
    await expect(create('v1', { size: '3m' })).rejects.toThrow(ConflictError);
    expect(await records()).toHaveLength(1);
  });

  it.each([
    ['../x', {}, InvalidRequestError, /invalid volume name/],
    ['/', {}, InvalidRequestError, /invalid volume name/],
    ['a\0b', {}, InvalidRequestError, /invalid volume name/],
    ['v', {}, InvalidRequestError, /at least two characters/],
    ['v1', { flavour: 'x' }, InvalidRequestError, /option "flavour" is unknown; valid options for type=local: size, uid, gid, mode, from/],
    ['v1', { size: '5zb' }, InvalidRequestError, /size "5zb" is not valid/],
    ['v1', { from: 'nope' }, NotFoundError, /volume "nope" not found/],
    ['v1', { from: 'v1' }, InvalidRequestError, /names the volume itself/],
  ])('refuses %j %j and changes nothing', async (name, opts, cls, message) => {
    const err = await create(name, opts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(cls);
    expect((err as Error).message).toMatch(message);
    expect(await records()).toEqual([]);
    expect(await readdir(root)).toEqual([]);
    expect(host.calls).toEqual([]);
  });

  it('refuses to copy into a tmpfs volume', async () => {
    await create('src');
    await expect(create('tm', { type: 'tmpfs', from: 'src' })).rejects.toThrow(refusal('ERR_INVALID_REQUEST', /applies only to type=local/));
  });

  it('undoes a create whose kernel step fails', async () => {
    host.failOn = 'mountImage';
    await expect(create('v1', { size: '4m' })).rejects.toThrow(refusal('ERR_PLUGIN', /volume "v1": mountImage failed/));
    expect(await records()).toEqual([]);
    expect(await readdir(root)).toEqual([]);
    expect(host.calls.at(-1)).toMatch(/^unmountImage /);
  });

  it('refuses a name whose directory holds data without a record, and reuses an empty one', async () => {
    await create('v1');
    await create('v2');
    await writeFile(join(data('v1'), 'precious'), 'x');
    await fx.store.collection(VOLUMES_COLLECTION).del('v1');
    await fx.store.collection(VOLUMES_COLLECTION).del('v2');
    await reopen();
    await expect(create('v1')).rejects.toThrow(refusal('ERR_CONFLICT', /exists but tsvol has no record of it/));
    await expect(create('v2')).resolves.toEqual({});
  });
});

describe('mount counting', () => {
  beforeEach(async () => {
    await create('tm', { type: 'tmpfs', size: '1m', mode: '1777', noexec: '' });
  });

  it('mounts a tmpfs on the first Mount, counts repeated IDs, and unmounts on the last Unmount only', async () => {
    expect(await driver.mount({ Name: 'tm', ID: ID1 })).toEqual({ Mountpoint: data('tm') });
    expect(host.calls).toEqual([`mountTmpfs ${data('tm')} source=tsvol,size=1048576,mode=1777,noexec=true`]);
    await driver.mount({ Name: 'tm', ID: ID1 }); // dockerd reuses the ID, e.g. for docker cp
    await driver.mount({ Name: 'tm', ID: ID2 });
    expect((await driver.get({ Name: 'tm' })).Volume.Status.MountCount).toBe(3);
    await driver.unmount({ Name: 'tm', ID: ID1 });
    await driver.unmount({ Name: 'tm', ID: ID2 });
    expect(host.mounts.has(data('tm'))).toBe(true);
    expect(host.calls.filter((c) => c.startsWith('unmount'))).toEqual([]);
    await driver.unmount({ Name: 'tm', ID: ID1 });
    expect(host.mounts.has(data('tm'))).toBe(false);
    expect(host.calls.at(-1)).toBe(`unmount ${data('tm')}`);
  });

  it('keeps the count right under concurrent calls', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => i.toString(16).padStart(64, '0'));
    await Promise.all(ids.map((ID) => driver.mount({ Name: 'tm', ID })));
    expect((await driver.get({ Name: 'tm' })).Volume.Status.MountCount).toBe(20);
    await Promise.all(ids.map((ID) => driver.unmount({ Name: 'tm', ID })));
    expect((await driver.get({ Name: 'tm' })).Volume.Status.MountCount).toBe(0);
    expect(host.calls.filter((c) => c.startsWith('unmount '))).toHaveLength(1);
  });

  it('refuses Mount of an unknown volume and Unmount with an unknown ID, changing nothing', async () => {
    await driver.mount({ Name: 'tm', ID: ID1 });
    await expect(driver.mount({ Name: 'nope', ID: ID1 })).rejects.toThrow(NotFoundError);
    await expect(driver.unmount({ Name: 'tm', ID: ID2 })).rejects.toThrow(refusal('ERR_NOT_FOUND', /no active mount with ID 222222222222 \(the volume has 1 container mount\)/));
    await expect(driver.unmount({ Name: 'nope', ID: ID1 })).rejects.toThrow(NotFoundError);
    expect((await driver.get({ Name: 'tm' })).Volume.Status.MountCount).toBe(1);
    expect(host.mounts.has(data('tm'))).toBe(true);
  });

  it('answers Get of an unknown name with an expected not-found (dockerd asks before every create), Mount with a refusal', async () => {
    await expect(driver.get({ Name: 'nope' })).rejects.toMatchObject({ code: 'ERR_NOT_FOUND', expected: true, message: 'volume "nope" not found: no tsvol volume has that name' });
    await expect(driver.mount({ Name: 'nope', ID: ID1 })).rejects.toMatchObject({ code: 'ERR_NOT_FOUND', expected: false });
  });

  it('refuses to remove a mounted volume, saying by how many', async () => {
    await driver.mount({ Name: 'tm', ID: ID1 });
    await driver.mount({ Name: 'tm', ID: ID2 });
    const err = await driver.remove({ Name: 'tm' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as Error).message).toBe('volume "tm" is in use (2 container mounts); stop the containers using it and try again');
    expect(host.mounts.has(data('tm'))).toBe(true);
    await driver.unmount({ Name: 'tm', ID: ID1 });
    await driver.unmount({ Name: 'tm', ID: ID2 });
    await driver.remove({ Name: 'tm' });
    expect((await driver.list()).Volumes).toEqual([]);
    await driver.drain();
    expect(await records()).toEqual([]);
    expect(await readdir(root)).toEqual([]);
  });

  it('answers Remove at the rename to trash; a restart before the record is gone finishes the Remove', async () => {
    await create('gone');
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const batch = fx.store.batch.bind(fx.store);
    fx.store.batch = async (ops) => {
      await gate;
      return batch(ops);
    };
    await driver.remove({ Name: 'gone' });
    await expect(driver.get({ Name: 'gone' })).rejects.toThrow(NotFoundError);
    expect((await readdir(root)).filter((e) => e.startsWith('.trash-gone-'))).toHaveLength(1);
    expect((await records()).map(([k]) => k)).toContain('gone'); // not yet durable: as after a kill -9 now
    fx.store.batch = batch;
    await reopen();
    expect((await records()).map(([k]) => k)).not.toContain('gone');
    expect((await readdir(root)).filter((e) => e.includes('gone'))).toEqual([]);
    release();
  });

  it('keeps counts in the store, so a new process sees them', async () => {
    await driver.mount({ Name: 'tm', ID: ID1 });
    await driver.mount({ Name: 'tm', ID: ID1 });
    const [[, rec] = ['', undefined]] = await records();
    expect(rec?.mounts).toEqual({ [ID1]: 2 });
  });
});

describe('remove', () => {
  it('tears down an image volume and forgets it; removing again is a no-op', async () => {
    await create('big', { size: '2m' });
    await driver.remove({ Name: 'big' });
    expect(host.calls.at(-1)).toBe(`unmountImage ${join(root, 'big', 'disk.ext4')} ${data('big')}`);
    expect(host.loops).toEqual([]);
    await expect(driver.remove({ Name: 'big' })).resolves.toEqual({});
    await expect(driver.get({ Name: 'big' })).rejects.toThrow(NotFoundError);
  });

  it('deletes nothing while a mount stays below the volume', async () => {
    await create('v1');
    host.mounts.set(join(data('v1'), 'sub'), 'tmpfs');
    const err = await driver.remove({ Name: 'v1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PluginError);
    expect((err as Error).message).toMatch(/still has mounts/);
    expect((await stat(data('v1'))).isDirectory()).toBe(true);
  });
});

describe('Path, Capabilities', () => {
  it('answers Path with the data directory and refuses unknown names', async () => {
    await create('v1');
    expect(await driver.path({ Name: 'v1' })).toEqual({ Mountpoint: data('v1') });
    await expect(driver.path({ Name: 'v2' })).rejects.toThrow(NotFoundError);
    await expect(driver.path({ Name: '../v1' })).rejects.toThrow(InvalidRequestError);
  });

  it('reports local scope', async () => {
    expect(await driver.capabilities()).toEqual({ Capabilities: { Scope: 'local' } });
  });
});

describe('Status', () => {
  it('shows usage, the mount count and redacted options', async () => {
    await create('tm', { type: 'tmpfs', size: '1m' });
    await driver.mount({ Name: 'tm', ID: ID1 });
    host.usage.set(data('tm'), 4096);
    const { Status } = (await driver.get({ Name: 'tm' })).Volume;
    expect(Status).toEqual({
      Type: 'tmpfs',
      Backing: 'tmpfs',
      SizeLimit: '1 MiB',
      SizeLimitBytes: 2 ** 20,
      Mounted: true,
      UsedBytes: 4096,
      Used: '4 KiB',
      AvailableBytes: 2 ** 20 - 4096,
      MountCount: 1,
      Options: { type: 'tmpfs', size: '1m' },
    });
  });
});
