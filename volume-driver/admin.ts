/**
 * @module The plugin side of `TsnetVolume` (admin-api.ts). A lease counts as a user of the volume,
 * like a container mount: the volume cannot be removed and a tmpfs stays mounted while it lasts. A
 * lease ends with Release, or when its process is gone (checked on each Acquire and at start-up).
 */
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { ConflictError, NotFoundError, UnsupportedError } from '../common/protocol/errors.js';
import type { AdminResponses, VolumeAdminApi } from './admin-api.js';
import { checkVolumes, repairVolumes } from './check.js';
import { inVolume, kindContext, type DriverDeps, type VolumeDriver } from './driver.js';
import { kindOf } from './kinds/index.js';
import { describeUsers, dropDeadLeases, mountCount, usersOf } from './record.js';
import { defaultSnapshotName, removeSnapshot, snapshotInfo, takeSnapshot } from './snapshots.js';

/** `TsnetVolume` over the driver's table: List, and leases for export and import. */
export class VolumeAdmin implements VolumeAdminApi {
  readonly #d: DriverDeps;
  readonly #driver: VolumeDriver;

  constructor(deps: DriverDeps, driver: VolumeDriver) {
    this.#d = deps;
    this.#driver = driver;
  }

  async list({ Fresh }: { Fresh: boolean }): Promise<AdminResponses['List']> {
    // All at once: directory walks are limited by the usage meter, everything else is cheap.
    const infos = await Promise.all(
      this.#d.table.readyNames().map((n) =>
        this.#driver.info(n, { fresh: Fresh }).catch((err: unknown) => {
          if (err instanceof NotFoundError) return undefined; // removed meanwhile
          throw err;
        }),
      ),
    );
    return { Volumes: infos.filter((v) => v !== undefined) };
  }

  async acquire({ Name, Purpose, Pid }: { Name: string; Purpose: 'export' | 'import'; Pid: number }): Promise<AdminResponses['Acquire']> {
    const { table } = this.#d;
    const ctx = kindContext(this.#d, Name);
    const { paths } = ctx;
    return table.lock([Name], async () => {
      const rec = table.ready(Name);
      const kind = kindOf(rec.spec);
      dropDeadLeases(rec, this.#d.host.processAlive);
      const leases = Object.values(rec.leases);
      if (Purpose === 'import') {
        if (!kind.keepsContent) {
          throw new UnsupportedError(`volume "${Name}" is a ${kind.backing} volume, whose content lives only while containers use it; import into a type=local volume`);
        }
        if (usersOf(rec) > 0) throw new ConflictError(`volume "${Name}" is in use (${describeUsers(rec)}); import only into a volume nothing uses`);
        if ((await readdir(kind.contentPath(ctx, rec.spec))).length > 0) {
          throw new ConflictError(`volume "${Name}" is not empty; import only into a new, empty volume`);
        }
      } else if (leases.some((l) => l.purpose === 'import')) {
        throw new ConflictError(`volume "${Name}" is being imported into; export it when the import is done`);
      }
      // A lease is a user like a container mount: the volume's filesystem is there while it lasts.
      await inVolume(Name, () => kind.activate(ctx, rec.spec));
      const lease = `${Purpose}-${Pid}-${randomBytes(4).toString('hex')}`;
      rec.leases[lease] = { pid: Pid, purpose: Purpose, since: new Date().toISOString() };
      await table.save(rec);
      this.#d.log.info('lease taken', { volume: Name, lease, mounts: mountCount(rec) });
      const { Status } = await this.#driver.info(Name, { fresh: true });
      return { Lease: lease, Mountpoint: paths.data, ...(Status.UsedBytes !== undefined && { UsedBytes: Status.UsedBytes }) };
    });
  }

  async release({ Name, Lease }: { Name: string; Lease: string }): Promise<AdminResponses['Release']> {
    const { table, meter, log } = this.#d;
    const ctx = kindContext(this.#d, Name);
    return table.lock([Name], async () => {
      const rec = table.ready(Name);
      if (!rec.leases[Lease]) throw new NotFoundError(`volume "${Name}" has no lease "${Lease}" (it has ${describeUsers(rec)})`);
      delete rec.leases[Lease];
      if (usersOf(rec) === 0) await inVolume(Name, () => kindOf(rec.spec).release(ctx, rec.spec));
      await table.save(rec);
      meter.forget(Name);
      log.info('lease released', { volume: Name, lease: Lease });
      return {};
    });
  }

  async snapshot({ Volume, Snapshot, Method }: { Volume: string; Snapshot?: string; Method: 'auto' | 'copy' }): Promise<AdminResponses['Snapshot']> {
    return { Snapshot: await takeSnapshot(this.#d, Volume, Snapshot ?? defaultSnapshotName(new Date()), Method) };
  }

  async snapshots({ Volume }: { Volume?: string }): Promise<AdminResponses['Snapshots']> {
    return { Snapshots: this.#d.snapshots.all(Volume).filter((s) => s.state === 'ready').map(snapshotInfo) };
  }

  async removeSnapshot({ Volume, Snapshot }: { Volume: string; Snapshot: string }): Promise<AdminResponses['RemoveSnapshot']> {
    await removeSnapshot(this.#d, Volume, Snapshot);
    return {};
  }

  async check(): Promise<AdminResponses['Check']> {
    return { Findings: await checkVolumes(this.#d) };
  }

  async repair(): Promise<AdminResponses['Repair']> {
    await repairVolumes(this.#d);
    return {};
  }

  async mounts(): Promise<AdminResponses['Mounts']> {
    const { table } = this.#d;
    return { Volumes: table.readyNames().map((Name) => ({ Name, Mounts: { ...table.ready(Name).mounts } })) };
  }

}
