/**
 * Snapshots and clones with the recording fake host: an image is copied while frozen, a directory
 * only while unused, clones keep the size limit, snapshots survive a restart and outlive their
 * volume, an interrupted one is deleted at start. No root.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, InvalidRequestError, NotFoundError, UnsupportedError } from '../common/protocol/errors.js';
import { SNAPSHOTS_COLLECTION, type SnapshotRecord } from './snapshot-table.js';
import { createUnitFixture, type UnitFixture } from './testing/fixture-unit.js';
import { refusal } from '../testing/refusal.js';

const ID = 'b'.repeat(64);
let fx: UnitFixture;
const snapDir = (key: string) => join(fx.stateDir, 'snapshots', key);

beforeEach(async () => {
  fx = await createUnitFixture();
});

afterEach(() => fx.cleanup());

describe('snapshots', () => {
  it('copy a size-limited volume image while its filesystem is frozen, and list it', async () => {
    await fx.create('db', { size: '10m' });
    fx.host.calls = [];
    const { Snapshot } = await fx.admin.snapshot({ Volume: 'db', Snapshot: 's1', Method: 'auto' });
    expect(Snapshot).toMatchObject({ Volume: 'db', Name: 's1', SizeLimitBytes: 10 * 2 ** 20, Method: 'sparse copy' });
    expect(fx.host.calls).toEqual([`frozen ${fx.data('db')}`, `copyImage ${join(fx.root, 'db', 'disk.ext4')} ${join(snapDir('db@s1'), 'disk.ext4')} auto`]);
    expect((await fx.admin.snapshots({})).Snapshots.map((s) => `${s.Volume}@${s.Name}`)).toEqual(['db@s1']);
    await expect(fx.admin.snapshot({ Volume: 'db', Snapshot: 's1', Method: 'auto' })).rejects.toThrow(ConflictError);
  });

  it('name a snapshot after the time when no name is given', async () => {
    await fx.create('db', { size: '10m' });
    const { Snapshot } = await fx.admin.snapshot({ Volume: 'db', Method: 'copy' });
    expect(Snapshot.Name).toMatch(/^\d{8}T\d{6}Z$/);
    expect(fx.host.calls.at(-1)).toMatch(/ copy$/);
  });

  it('copy a directory volume as a tree, refused while it is in use', async () => {
    await fx.create('plain');
    await writeFile(join(fx.data('plain'), 'f'), 'x');
    await fx.driver.mount({ Name: 'plain', ID });
    await expect(fx.admin.snapshot({ Volume: 'plain', Snapshot: 's0', Method: 'auto' })).rejects.toThrow(ConflictError);
    await fx.driver.unmount({ Name: 'plain', ID });
    const { Snapshot } = await fx.admin.snapshot({ Volume: 'plain', Snapshot: 's0', Method: 'auto' });
    expect(Snapshot.Method).toBe('tree copy');
    expect(fx.host.calls).toContain(`copyTree ${fx.data('plain')} ${join(snapDir('plain@s0'), 'data')}`);
  });

  it('are refused for tmpfs and host-directory volumes', async () => {
    await fx.create('tm', { type: 'tmpfs' });
    const user = await mkdtemp(join(tmpdir(), 'tstest-vol-snapdir-'));
    try {
      await fx.create('hd', { path: user });
      await expect(fx.admin.snapshot({ Volume: 'hd', Snapshot: 's0', Method: 'auto' })).rejects.toThrow(UnsupportedError);
    } finally {
      await rm(user, { recursive: true, force: true });
    }
    await expect(fx.admin.snapshot({ Volume: 'tm', Snapshot: 's0', Method: 'auto' })).rejects.toThrow(UnsupportedError);
    await expect(fx.admin.snapshot({ Volume: 'nope', Snapshot: 's0', Method: 'auto' })).rejects.toThrow(NotFoundError);
    await expect(fx.admin.snapshot({ Volume: 'tm', Snapshot: '../x', Method: 'auto' })).rejects.toThrow(InvalidRequestError);
  });

  it('start clones that keep the size limit, and refuse another size', async () => {
    await fx.create('db', { size: '10m' });
    await fx.admin.snapshot({ Volume: 'db', Snapshot: 's1', Method: 'auto' });
    await expect(fx.create('c0', { 'from-snapshot': 'db@s1', size: '20m' })).rejects.toThrow(refusal('ERR_INVALID_REQUEST', /differs from the snapshot's size limit/));
    await expect(fx.create('c0', { 'from-snapshot': 'db@nope' })).rejects.toThrow(NotFoundError);
    fx.host.calls = [];
    await fx.create('c1', { 'from-snapshot': 'db@s1' });
    const image = join(fx.root, 'c1', 'disk.ext4');
    expect(fx.host.calls).toEqual([`copyImage ${join(snapDir('db@s1'), 'disk.ext4')} ${image} auto`, `mountImage ${image} ${fx.data('c1')}`, `setRoot ${fx.data('c1')} `]);
    expect((await fx.driver.get({ Name: 'c1' })).Volume.Status.SizeLimitBytes).toBe(10 * 2 ** 20);
  });

  it('from= a size-limited volume copies its image frozen and keeps the limit', async () => {
    await fx.create('db', { size: '10m' });
    fx.host.calls = [];
    await fx.create('c2', { from: 'db' });
    expect(fx.host.calls[0]).toBe(`frozen ${fx.data('db')}`);
    expect((await fx.driver.get({ Name: 'c2' })).Volume.Status.SizeLimitBytes).toBe(10 * 2 ** 20);
  });

  it('survive a restart and the removal of their volume; rm-snapshot is idempotent', async () => {
    await fx.create('db', { size: '10m' });
    await fx.admin.snapshot({ Volume: 'db', Snapshot: 's1', Method: 'auto' });
    await fx.driver.remove({ Name: 'db' });
    await fx.reopen();
    expect((await fx.admin.snapshots({ Volume: 'db' })).Snapshots.map((s) => s.Name)).toEqual(['s1']);
    await fx.admin.removeSnapshot({ Volume: 'db', Snapshot: 's1' });
    await fx.admin.removeSnapshot({ Volume: 'db', Snapshot: 's1' });
    expect((await fx.admin.snapshots({})).Snapshots).toEqual([]);
    expect(await readdir(join(fx.stateDir, 'snapshots'))).toEqual([]);
  });

  it('are deleted at start when their copy never finished, and a failed copy leaves nothing', async () => {
    await fx.create('db', { size: '10m' });
    fx.host.failOn = 'copyImage';
    await expect(fx.admin.snapshot({ Volume: 'db', Snapshot: 'bad', Method: 'auto' })).rejects.toThrow(refusal('ERR_PLUGIN', /volume "db": copyImage failed/));
    expect(await readdir(join(fx.stateDir, 'snapshots'))).toEqual([]);
    const col = fx.store.collection<SnapshotRecord>(SNAPSHOTS_COLLECTION);
    const half: SnapshotRecord = { v: 1, volume: 'db', name: 'half', state: 'creating', form: 'image', spec: { type: 'local', sizeBytes: 1 << 20 }, createdAt: '2026-01-01T00:00:00Z' };
    await col.put('db@half', half);
    await mkdir(snapDir('db@half'));
    await mkdir(snapDir('stray@x'));
    await fx.reopen();
    expect(await col.entries()).toEqual([]);
    expect(await readdir(join(fx.stateDir, 'snapshots'))).toEqual([]);
  });
});
