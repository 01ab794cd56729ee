/**
 * @module tsvol's VolumeDriver (docs/plugin-protocol.md §4): decisions and bookkeeping. Kernel work goes
 * through {@link VolumeHost} (see lifecycle.ts); records through {@link VolumeTable}, locked per
 * volume name. Mount counts are kept per (name, mount ID) because dockerd repeats IDs (§4.3): a tmpfs
 * is mounted on the first Mount and unmounted only when the last user is gone.
 */
import { rm } from 'node:fs/promises';
import type { Logger } from '../common/log.js';
import { ConflictError, InvalidRequestError, NotFoundError, PluginError } from '../common/protocol/errors.js';
import type { CreateVolumeRequest, MountRequest, VolumeDriverApi, VolumeResponses } from '../common/protocol/volume-api.js';
import type { VolumeHost } from './host.js';
import {
  activateVolume,
  alwaysMounted,
  buildVolume,
  assertNoMounts,
  deactivateVolume,
  destroyVolume,
  isEmptyLeftover,
  publishVolume,
  releaseVolume,
  trashVolumeDir,
  unpublishVolume,
} from './lifecycle.js';
import { parseVolumeOptions } from './options.js';
import { describeUsers, dropDeadLeases, mountCount, usersOf, type VolumeRecord } from './record.js';
import { volumeStatus, type DetailedVolume } from './status.js';
import type { UsageMeter } from './usage-meter.js';
import type { VolumeTable } from './volume-table.js';

/** What the driver and the admin interface share. */
export interface DriverDeps {
  table: VolumeTable;
  host: VolumeHost;
  meter: UsageMeter;
  log: Logger;
  /** The current boot ID (see reconcile.ts). */
  bootId: string;
}

/**
 * Runs a step of volume `name`; an error that is not already a {@link PluginError} (a kernel
 * failure) is reported naming the volume, with the original as `cause`.
 */
export async function inVolume<T>(name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof PluginError) throw err;
    throw new PluginError(`volume "${name}": ${(err as Error).message}`, { cause: err });
  }
}

const sameOptions = (a: Record<string, string>, b: Record<string, string>) =>
  JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());

/** The VolumeDriver handlers dockerd and engine-lite call; every one is safe to repeat. */
export class VolumeDriver implements VolumeDriverApi {
  readonly #d: DriverDeps;

  constructor(deps: DriverDeps) {
    this.#d = deps;
  }

  async create({ Name, Opts }: CreateVolumeRequest): Promise<VolumeResponses['Create']> {
    const { table, host, meter, log } = this.#d;
    const paths = table.paths(Name);
    const spec = parseVolumeOptions(Name, Opts);
    if (spec.from === Name) throw new InvalidRequestError(`volume "${Name}": from=${Name} names the volume itself; name another tsvol volume`);
    return table.lock([Name, ...(spec.from ? [spec.from] : [])], async () => {
      const existing = table.find(Name);
      if (existing?.state === 'ready') {
        if (sameOptions(existing.options, Opts)) return {};
        const was = JSON.stringify(existing.options);
        throw new ConflictError(`volume "${Name}" already exists with other options (${was}); remove it first or use another name`);
      }
      const from = spec.from === undefined ? undefined : table.ready(spec.from);
      if (from) {
        if (spec.type === 'tmpfs') {
          throw new InvalidRequestError(`volume "${Name}": from= applies only to type=local (a tmpfs volume starts empty)`);
        }
        if (from.spec.type === 'tmpfs' && usersOf(from) === 0) {
          log.info('copying an unmounted tmpfs volume: the copy starts empty', { volume: Name, from: from.name });
        }
      }
      if (!(await isEmptyLeftover(host, paths))) {
        throw new ConflictError(`volume "${Name}": ${paths.dir} exists but tsvol has no record of it; move it away to reuse the name`);
      }
      // A Create that makes kernel objects or copies data is recorded first, so a crash midway is
      // undone at the next start; a plain directory or tmpfs volume needs only the final write.
      const staged = alwaysMounted(spec) || from !== undefined;
      const rec: VolumeRecord = {
        v: 1,
        name: Name,
        state: staged ? 'creating' : 'ready',
        spec,
        options: Opts,
        createdAt: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
        bootId: this.#d.bootId,
        mounts: {},
        staleMounts: [],
        leases: {},
      };
      if (staged) await table.save(rec);
      try {
        await inVolume(Name, () => buildVolume(host, paths, spec, from && table.paths(from.name).data));
      } catch (err) {
        await destroyVolume(host, paths, spec).then(
          () => (staged ? table.delete(Name) : undefined),
          (undo: unknown) => log.error('could not undo a failed create; the next start retries', { volume: Name, err: (undo as Error).message }),
        );
        throw err;
      }
      await table.save({ ...rec, state: 'ready' });
      if (!from) meter.set(Name, 0);
      log.info('volume created', { volume: Name, type: spec.type, ...(spec.sizeBytes !== undefined && { sizeBytes: spec.sizeBytes }) });
      return {};
    });
  }

  async remove({ Name }: { Name: string }): Promise<VolumeResponses['Remove']> {
    const { table, host, meter, log } = this.#d;
    const paths = table.paths(Name);
    return table.lock([Name], async () => {
      const rec = table.find(Name);
      if (!rec) {
        log.info('remove of an unknown volume: nothing to do', { volume: Name });
        return {};
      }
      if (dropDeadLeases(rec, host.processAlive).length > 0) await table.save(rec);
      if (usersOf(rec) > 0) {
        throw new ConflictError(`volume "${Name}" is in use (${describeUsers(rec)}); stop the containers using it and try again`);
      }
      await inVolume(Name, async () => {
        await unpublishVolume(host, paths);
        await deactivateVolume(host, paths, rec.spec);
        await assertNoMounts(host, paths.dir);
        const trash = await trashVolumeDir(paths);
        await table.delete(Name);
        meter.forget(Name);
        await rm(trash, { recursive: true, force: true });
      });
      log.info('volume removed', { volume: Name });
      return {};
    });
  }

  async mount({ Name, ID }: MountRequest): Promise<VolumeResponses['Mount']> {
    const { table, host, log } = this.#d;
    const paths = table.paths(Name);
    return table.lock([Name], async () => {
      const rec = table.ready(Name);
      await inVolume(Name, async () => {
        await activateVolume(host, paths, rec.spec);
        await publishVolume(host, paths);
      });
      rec.mounts[ID] = (rec.mounts[ID] ?? 0) + 1;
      await table.save(rec);
      log.info('volume mounted', { volume: Name, id: ID.slice(0, 12), mounts: mountCount(rec) });
      return { Mountpoint: paths.mountpoint };
    });
  }

  async unmount({ Name, ID }: MountRequest): Promise<VolumeResponses['Unmount']> {
    const { table, host, log } = this.#d;
    const paths = table.paths(Name);
    return table.lock([Name], async () => {
      const rec = table.ready(Name);
      const count = rec.mounts[ID];
      if (count === undefined) {
        if (!rec.staleMounts.includes(ID)) {
          throw new NotFoundError(`volume "${Name}": no active mount with ID ${ID.slice(0, 12)} (the volume has ${describeUsers(rec)})`);
        }
        // A mount from before a reboot: dockerd cleans up the containers that were running then.
        rec.staleMounts = rec.staleMounts.filter((id) => id !== ID);
        await table.save(rec);
        return {};
      }
      if (count > 1) rec.mounts[ID] = count - 1;
      else delete rec.mounts[ID];
      if (usersOf(rec) === 0) {
        await inVolume(Name, async () => {
          await unpublishVolume(host, paths);
          await releaseVolume(host, paths, rec.spec);
        });
      }
      await table.save(rec);
      log.info('volume unmounted', { volume: Name, id: ID.slice(0, 12), mounts: mountCount(rec) });
      return {};
    });
  }

  async path({ Name }: { Name: string }): Promise<VolumeResponses['Path']> {
    const { mountpoint } = this.#d.table.paths(Name);
    this.#d.table.ready(Name);
    return { Mountpoint: mountpoint };
  }

  async get({ Name }: { Name: string }): Promise<{ Volume: DetailedVolume }> {
    return { Volume: await this.info(Name) };
  }

  /** Get's answer for `name`; with `fresh`, a directory's usage is measured now. */
  async info(name: string, opts: { fresh?: boolean } = {}): Promise<DetailedVolume> {
    const { table, host, meter } = this.#d;
    const paths = table.paths(name);
    const rec = table.ready(name);
    const Status = await inVolume(name, () => volumeStatus(rec, paths, { host, meter }, opts));
    return { Name: name, Mountpoint: paths.mountpoint, CreatedAt: rec.createdAt, Status };
  }

  async list(): Promise<VolumeResponses['List']> {
    return { Volumes: [...this.#d.table.listed()] };
  }

  async capabilities(): Promise<VolumeResponses['Capabilities']> {
    return { Capabilities: { Scope: 'local' } };
  }
}
