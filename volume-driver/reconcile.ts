/**
 * @module Start-up reconciliation of the store with the host, run before the socket opens:
 * - half-done Creates (records in state `creating`) are undone, half-done Removes finished;
 * - leases of processes that are gone are dropped;
 * - after a reboot (new boot ID) mount counts are moved to `staleMounts`: those containers are not
 *   running any more, and dockerd's clean-up Unmounts for them are accepted once;
 * - volumes in use get their filesystem back (and, with a mount dir, their published Mountpoint;
 *   published Mountpoints of volumes not in use are removed) (idempotent, so after a `kill -9` nothing under a
 *   running container is touched), unused tmpfs volumes are unmounted (an empty tmpfs volume still
 *   exists, so dockerd's Get at its start never makes Docker forget it), size-limited volumes are
 *   mounted again;
 * - tsvol mounts and loop devices under the volumes root that no record owns are removed, and so are
 *   `.trash-…` directories of interrupted Removes and the empty directories of interrupted Creates;
 *   other stray directories are only reported (they may hold data).
 * A failure on one volume is logged and start-up goes on.
 */
import { mkdir, readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { errorFields } from '../common/log.js';
import { kindContext, type DriverDeps } from './driver.js';
import { kindOf } from './kinds/index.js';
import { alwaysMounted, deleteTree, destroyVolume, isEmptyLeftover, publishVolume, trashOwner, unpublishVolume } from './lifecycle.js';
import { VOLUME_NAME_RULE } from '../common/protocol/fields.js';
import { dropDeadLeases, usersOf, type VolumeRecord } from './record.js';

/** The volume name a path under `root` belongs to (its first component). */
function ownerName(root: string, path: string): string {
  return relative(root, path).split('/')[0] ?? '';
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** `trashed`: names whose directory was moved to `.trash-…` by a Remove that did not finish. */
async function reconcileOne(deps: DriverDeps, rec: VolumeRecord, trashed: ReadonlySet<string>): Promise<void> {
  const { table, host, log, bootId } = deps;
  const ctx = kindContext(deps, rec.name);
  const { paths } = ctx;
  const kind = kindOf(rec.spec);
  const vlog = log.child({ volume: rec.name });
  if (rec.state === 'creating') {
    vlog.warn('undoing an interrupted create');
    await destroyVolume(ctx, rec.spec);
    await table.delete(rec.name);
    return;
  }
  if (!(await exists(paths.dir))) {
    if (trashed.has(rec.name)) {
      vlog.warn('finishing an interrupted remove');
      await table.delete(rec.name);
      return;
    }
    vlog.warn('volume directory missing: recreating it empty', { path: paths.dir });
    await mkdir(paths.data, { recursive: true, mode: 0o755 });
  }
  const before = JSON.stringify(rec);
  for (const [id, lease] of dropDeadLeases(rec, (pid) => bootId === rec.bootId && host.processAlive(pid))) {
    vlog.info('dropped the lease of a process that is gone', { lease: id, pid: lease.pid, purpose: lease.purpose });
  }
  if (rec.bootId !== bootId) {
    const ids = Object.keys(rec.mounts);
    if (ids.length > 0) vlog.info('host rebooted: earlier mounts are stale', { staleMounts: ids.length });
    rec.staleMounts = [...new Set([...rec.staleMounts, ...ids])];
    rec.mounts = {};
    rec.bootId = bootId;
  }
  // A snapshot killed mid-copy may have left the image frozen; writes would hang forever.
  if (alwaysMounted(rec.spec) && (await host.isMountpoint(paths.data))) await host.thaw(paths.data);
  if (usersOf(rec) > 0 || alwaysMounted(rec.spec)) await kind.activate(ctx, rec.spec);
  else await kind.release(ctx, rec.spec);
  if (usersOf(rec) > 0) await publishVolume(host, paths);
  else await unpublishVolume(host, paths);
  if (JSON.stringify(rec) !== before) await table.save(rec);
}

/** Reconciles every volume, then sweeps what no record owns. Never throws for one volume's failure. */
export async function reconcile(deps: DriverDeps): Promise<void> {
  const { table, host, log } = deps;
  const entries = await readdir(table.root);
  const trashed = new Set(entries.map(trashOwner).filter((n) => n !== undefined));
  for (const rec of table.all()) {
    await reconcileOne(deps, rec, trashed).catch((err: unknown) => log.warn('could not reconcile volume', { volume: rec.name, ...errorFields(err) }));
  }
  const known = new Set(table.all().map((r) => r.name));
  if (table.mountDir !== undefined) {
    const inUse = new Set(table.all().filter((r) => usersOf(r) > 0).map((r) => r.name));
    for (const point of await host.mountsUnder(table.mountDir)) {
      if (point === table.mountDir || inUse.has(ownerName(table.mountDir, point))) continue;
      log.warn('unmounting a published Mountpoint no volume in use owns', { mountPoint: point });
      await host.unmount(point).catch((err: unknown) => log.warn('could not unmount', { mountPoint: point, ...errorFields(err) }));
    }
  }
  for (const point of await host.mountsUnder(table.root)) {
    if (point === table.root || known.has(ownerName(table.root, point))) continue;
    log.warn('unmounting a mount no volume owns', { mountPoint: point });
    await host.unmount(point).catch((err: unknown) => log.warn('could not unmount', { mountPoint: point, ...errorFields(err) }));
  }
  const strayLoops = (await host.loopsUnder(table.root)).filter((l) => !known.has(ownerName(table.root, l.backingFile)));
  if (strayLoops.length > 0) {
    log.warn('detaching loop devices no volume owns', { devices: strayLoops.map((l) => `${l.device} (${l.backingFile})`) });
    await host.detachLoops(strayLoops).catch((err: unknown) => log.warn('could not detach', errorFields(err)));
  }
  for (const entry of entries) {
    if (known.has(entry)) continue;
    const path = join(table.root, entry);
    const leftover = trashOwner(entry) !== undefined || (VOLUME_NAME_RULE.test(entry) && (await isEmptyLeftover(host, table.paths(entry))));
    if (leftover) await deleteTree(host, path).catch((err: unknown) => log.warn('could not delete', { path, ...errorFields(err) }));
    else log.warn('directory without a volume record left in place', { path });
  }
  log.info('volumes reconciled', { volumes: known.size, root: table.root });
}
