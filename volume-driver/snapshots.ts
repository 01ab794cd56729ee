/**
 * @module Snapshots of tsvol volumes (`tsnet volume snapshot|snapshots|rm-snapshot`), served by the
 * admin interface. A size-limited volume's ext4 image is copied while its filesystem is frozen
 * (FIFREEZE: writes in flight reach the image first, new ones wait), as a reflink where the host
 * filesystem can, else as a sparse copy, so a snapshot taken under writes is consistent. A plain
 * directory volume is copied as a tree, only while nothing uses it (a tree copy cannot be made
 * consistent under writes). tmpfs and host-directory volumes have no snapshots. The record is written
 * `creating` first, so a snapshot killed midway is deleted at the next start.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { errorFields } from '../common/log.js';
import { ConflictError, UnsupportedError } from '../common/protocol/errors.js';
import { inVolume, kindContext, type DriverDeps } from './driver.js';
import { kindOf } from './kinds/index.js';
import { describeUsers, usersOf } from './record.js';
import { snapshotKey, type SnapshotRecord } from './snapshot-table.js';

/** A snapshot as the admin interface lists it. */
export interface SnapshotInfo {
  Volume: string;
  Name: string;
  /** RFC 3339. */
  CreatedAt: string;
  /** Bytes it takes on disk. */
  SizeBytes: number;
  /** The source volume's size limit, kept by clones. */
  SizeLimitBytes?: number;
  /** `reflink`, `sparse copy` or `tree copy`. */
  Method: string;
  /** How long the copy took (the volume was frozen that long for an image), ms. */
  TookMs: number;
}

export const snapshotInfo = (r: SnapshotRecord): SnapshotInfo => ({
  Volume: r.volume,
  Name: r.name,
  CreatedAt: r.createdAt,
  SizeBytes: r.bytes ?? 0,
  ...(r.spec.sizeBytes !== undefined && { SizeLimitBytes: r.spec.sizeBytes }),
  Method: r.method ?? '',
  TookMs: r.tookMs ?? 0,
});

/** A default snapshot name from the time: `20261203T134501Z`. */
export const defaultSnapshotName = (now: Date) => now.toISOString().replace(/[-:]|\.\d{3}/g, '');

/**
 * Takes snapshot `name` of `volume`. `method` `copy` forces a sparse copy of an image (for
 * measuring against reflink).
 * @throws UnsupportedError for types without snapshots; ConflictError for an existing name or a
 *   directory volume in use.
 */
export async function takeSnapshot(deps: DriverDeps, volume: string, name: string, method: 'auto' | 'copy' = 'auto'): Promise<SnapshotInfo> {
  const { table, snapshots, host, log } = deps;
  const dir = snapshots.dir(volume, name);
  return table.lock([volume, snapshotKey(volume, name)], async () => {
    const rec = table.ready(volume);
    const kind = kindOf(rec.spec);
    if (kind.snapshotForm === undefined) {
      throw new UnsupportedError(`volume "${volume}" is a ${kind.backing} volume, which has no snapshots; snapshots are for type=local volumes`);
    }
    if (snapshots.find(volume, name)) throw new ConflictError(`snapshot "${snapshotKey(volume, name)}" already exists; pick another name or rm-snapshot it first`);
    if (kind.snapshotForm === 'tree' && usersOf(rec) > 0) {
      throw new ConflictError(
        `volume "${volume}" is in use (${describeUsers(rec)}): a directory volume can only be copied consistently while nothing writes to it; stop its containers, or use a size-limited volume (size=), which is frozen for the copy`,
      );
    }
    const snap: SnapshotRecord = { v: 1, volume, name, state: 'creating', form: kind.snapshotForm, spec: rec.spec, createdAt: new Date().toISOString() };
    await snapshots.save(snap);
    const { paths } = kindContext(deps, volume);
    const t0 = performance.now();
    try {
      await inVolume(volume, async () => {
        await mkdir(dir, { recursive: true, mode: 0o700 });
        if (snap.form === 'image') {
          snap.method = await host.frozen(paths.data, () => host.copyImage(paths.image, join(dir, 'disk.ext4'), method));
        } else {
          await mkdir(join(dir, 'data'), { mode: 0o755 });
          await host.copyTree(paths.data, join(dir, 'data'));
          snap.method = 'tree copy';
        }
        snap.tookMs = Math.round(performance.now() - t0);
        snap.bytes = await host.diskUsage(dir);
      });
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      await snapshots.delete(volume, name);
      throw err;
    }
    await snapshots.save({ ...snap, state: 'ready' });
    log.info('snapshot taken', { volume, snapshot: name, method: snap.method, tookMs: snap.tookMs, bytes: snap.bytes });
    return snapshotInfo({ ...snap, state: 'ready' });
  });
}

/** Deletes snapshot `name` of `volume` (its volume need not exist). Idempotent. */
export async function removeSnapshot(deps: DriverDeps, volume: string, name: string): Promise<void> {
  const { table, snapshots, log } = deps;
  const dir = snapshots.dir(volume, name);
  await table.lock([snapshotKey(volume, name)], async () => {
    if (!snapshots.find(volume, name)) return;
    await snapshots.delete(volume, name);
    await rm(dir, { recursive: true, force: true });
    log.info('snapshot removed', { volume, snapshot: name });
  });
}

/**
 * Start-up: deletes snapshots whose copy never finished (record `creating`) and snapshot
 * directories no record owns. Never throws for one snapshot.
 */
export async function reconcileSnapshots(deps: DriverDeps): Promise<void> {
  const { snapshots, log } = deps;
  for (const snap of snapshots.all().filter((s) => s.state === 'creating')) {
    log.warn('deleting an interrupted snapshot', { volume: snap.volume, snapshot: snap.name });
    await removeSnapshot(deps, snap.volume, snap.name).catch((err: unknown) => log.warn('could not delete', errorFields(err)));
  }
  const known = new Set(snapshots.all().map((s) => snapshotKey(s.volume, s.name)));
  for (const entry of await readdir(snapshots.root)) {
    if (known.has(entry)) continue;
    log.warn('deleting a snapshot directory no record owns', { entry });
    await rm(join(snapshots.root, entry), { recursive: true, force: true });
  }
}
