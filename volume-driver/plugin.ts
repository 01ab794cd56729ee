/**
 * @module Wiring of tsvol for `tsnet serve`: the volumes root under the plugin's state directory,
 * the table loaded from the store, reconciliation with the host (counting first what it will repair), then the VolumeDriver and the
 * `TsnetVolume` admin interface to serve.
 */
import { mkdir, realpath } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { bindInterface } from '../common/protocol/api.js';
import { bindVolumeDriver } from '../common/protocol/volume-api.js';
import type { PluginFactory } from '../common/plugin.js';
import { errorFields, type Logger } from '../common/log.js';
import type { Store } from '../common/store/store.js';
import { VolumeAdminSpec } from './admin-api.js';
import { VolumeAdmin } from './admin.js';
import { VolumeDriver } from './driver.js';
import { checkVolumes } from './check.js';
import { createHost, type VolumeHost } from './host.js';
import { reconcile } from './reconcile.js';
import { SnapshotTable } from './snapshot-table.js';
import { reconcileSnapshots } from './snapshots.js';
import { UsageMeter } from './usage-meter.js';
import { VolumeTable } from './volume-table.js';

/** What {@link openVolumes} needs; `host` is the real one unless a test passes a fake. */
export interface OpenVolumesOptions {
  stateDir: string;
  store: Store;
  log: Logger;
  /** Where Mountpoints are published (`--mount-dir`); absent: the data directories themselves. */
  mountDir?: string;
  host?: VolumeHost;
  /** The directory directory volumes may never reach (default `stateDir`); serve passes its whole state directory. */
  protectedDir?: string;
  /** Where the host's root filesystem is seen (`--host-root`; default `/`): directory volumes' host paths are reached below it. */
  hostRoot?: string;
}

/**
 * Loads the volumes of `stateDir` (kept in `<stateDir>/volumes`, mode 0700), reconciles them with
 * the host (publishing volumes in use under `mountDir` again), and returns the driver and its admin
 * interface.
 */
export async function openVolumes(opts: OpenVolumesOptions): Promise<{ driver: VolumeDriver; admin: VolumeAdmin; startDrift?: number }> {
  const host = opts.host ?? createHost();
  await mkdir(join(opts.stateDir, 'volumes'), { recursive: true, mode: 0o700 });
  // Resolved, so paths match what mountinfo and losetup report.
  const root = await realpath(join(opts.stateDir, 'volumes'));
  const log = opts.log;
  const measure = (path: string) =>
    host.diskUsage(path).catch((err: unknown) => {
      log.warn('could not measure volume usage', { path, err: (err as Error).message });
      throw err;
    });
  if (opts.mountDir !== undefined) await mkdir(opts.mountDir, { recursive: true });
  const mountDir = opts.mountDir === undefined ? undefined : await realpath(opts.mountDir);
  await mkdir(join(opts.stateDir, 'snapshots'), { recursive: true, mode: 0o700 });
  const deps = {
    table: await VolumeTable.load(opts.store, root, mountDir),
    snapshots: await SnapshotTable.load(opts.store, await realpath(join(opts.stateDir, 'snapshots'))),
    host,
    meter: new UsageMeter(measure),
    log,
    bootId: await host.bootId(),
    stateDir: await realpath(opts.protectedDir ?? opts.stateDir),
    hostRoot: await realpath(opts.hostRoot ?? '/'),
  };
  // What the reconcile repairs, for the metrics: doctor's view of the host just before it.
  const startDrift = await checkVolumes(deps).then(
    (findings) => findings.filter((f) => f.Fixable).length,
    (err: unknown) => void log.warn('could not count the drift before reconciling', errorFields(err)),
  );
  await reconcile(deps);
  await reconcileSnapshots(deps);
  const driver = new VolumeDriver(deps);
  return { driver, admin: new VolumeAdmin(deps, driver), ...(startDrift !== undefined && { startDrift }) };
}

/** tsvol's {@link PluginFactory}: serves `VolumeDriver` and the admin interface `TsnetVolume`. */
export const createVolumePlugin: PluginFactory = async (ctx) => {
  // serve gives each plugin `<state dir>/<kind>`: directory volumes may reach none of the suite's state.
  const { driver, admin, startDrift } = await openVolumes({ ...ctx, protectedDir: dirname(ctx.stateDir) });
  return { interfaces: [bindVolumeDriver(driver), bindInterface(VolumeAdminSpec, admin)], close: () => driver.drain(), ...(startDrift !== undefined && { startDrift }) };
};
