/**
 * @module tsvol's VolumeDriver (docs/plugin-protocol.md §4): decisions and bookkeeping. Kernel work goes
 * through {@link VolumeHost} (see lifecycle.ts); records through {@link VolumeTable}, locked per
 * volume name. Mount counts are kept per (name, mount ID) because dockerd repeats IDs (§4.3): a tmpfs
 * is mounted on the first Mount and unmounted only when the last user is gone.
 */
import { join } from 'node:path';
import type { Logger } from '../common/log.js';
import { ConflictError, InvalidRequestError, NotFoundError, PluginError } from '../common/protocol/errors.js';
import type { CreateVolumeRequest, MountRequest, VolumeDriverApi, VolumeResponses } from '../common/protocol/volume-api.js';
import type { VolumeHost } from './host.js';
import { KIND_LOCK, kindOf, type KindContext } from './kinds/index.js';
import type { BuildSource } from './kinds/kind.js';
import {
  alwaysMounted,
  buildVolume,
  assertNoMounts,
  deleteTrash,
  destroyVolume,
  isEmptyLeftover,
  publishVolume,
  trashVolumeDir,
  unpublishVolume,
} from './lifecycle.js';
import { parseVolumeOptions, type VolumeSpec } from './options.js';
import { describeUsers, dropDeadLeases, mountCount, usersOf, type VolumeRecord } from './record.js';
import { snapshotKey, type SnapshotTable } from './snapshot-table.js';
import { volumeStatus, type DetailedVolume } from './status.js';
import type { UsageMeter } from './usage-meter.js';
import type { VolumeTable } from './volume-table.js';

/** What the driver and the admin interface share. */
export interface DriverDeps {
  table: VolumeTable;
  snapshots: SnapshotTable;
  host: VolumeHost;
  meter: UsageMeter;
  log: Logger;
  /** The current boot ID (see reconcile.ts). */
  bootId: string;
  /** The suite's state directory, resolved: directory volumes may never reach it. */
  stateDir: string;
  /** Where the host's root filesystem is seen, resolved (see {@link KindContext.hostRoot}). */
  hostRoot: string;
}

/** The context a volume kind's steps get for volume `name`. */
export function kindContext(deps: DriverDeps, name: string): KindContext {
  return { host: deps.host, paths: deps.table.paths(name), stateDir: deps.stateDir, hostRoot: deps.hostRoot };
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
  /** Work that finishes after its request was answered (see remove). */
  readonly #pending = new Set<Promise<void>>();

  constructor(deps: DriverDeps) {
    this.#d = deps;
  }

  #background(work: Promise<unknown>, onError: (err: Error) => void): void {
    const p = work.then(
      () => undefined,
      (err: unknown) => onError(err as Error),
    );
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
  }

  /** Resolves once the work requests left running after their answer is done (at close, and for tests). */
  async drain(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending);
  }

  async create({ Name, Opts }: CreateVolumeRequest): Promise<VolumeResponses['Create']> {
    const { table, log } = this.#d;
    table.paths(Name);
    const parsed = parseVolumeOptions(Name, Opts);
    if (parsed.from === Name) throw new InvalidRequestError(`volume "${Name}": from=${Name} names the volume itself; name another tsvol volume`);
    const snap = parsed.fromSnapshot;
    const keys = [Name, ...(parsed.from ? [parsed.from] : []), ...(snap ? [snapshotKey(snap.volume, snap.snapshot)] : [])];
    if (kindOf(parsed).locksAll) keys.push(KIND_LOCK);
    return table.lock(keys, async () => {
      const existing = table.find(Name);
      if (existing?.state === 'ready') {
        if (sameOptions(existing.options, Opts)) return {};
        const was = JSON.stringify(existing.options);
        throw new ConflictError(`volume "${Name}" already exists with other options (${was}); remove it first or use another name`);
      }
      const { spec, source } = await inVolume(Name, () => this.#sourceOf(Name, parsed));
      const ctx = kindContext(this.#d, Name);
      if (!(await isEmptyLeftover(ctx.host, ctx.paths))) {
        throw new ConflictError(`volume "${Name}": ${ctx.paths.dir} exists but tsvol has no record of it; move it away to reuse the name`);
      }
      const kind = kindOf(spec);
      const others = () => table.all().filter((r) => r.name !== Name);
      const prepared = await inVolume(Name, () => kind.prepare(ctx, spec, others));
      // A Create that makes kernel objects or copies data is recorded first, so a crash midway is
      // undone at the next start; a plain directory or tmpfs volume needs only the final write.
      const staged = alwaysMounted(prepared) || source !== undefined;
      const rec: VolumeRecord = {
        v: 1,
        name: Name,
        state: staged ? 'creating' : 'ready',
        spec: prepared,
        options: Opts,
        createdAt: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
        bootId: this.#d.bootId,
        mounts: {},
        staleMounts: [],
        leases: {},
      };
      if (staged) await table.save(rec);
      try {
        await inVolume(Name, () => buildVolume(ctx, prepared, source));
      } catch (err) {
        await destroyVolume(ctx, prepared).then(
          () => (staged ? table.delete(Name) : undefined),
          (undo: unknown) => log.error('could not undo a failed create; the next start retries', { volume: Name, err: (undo as Error).message }),
        );
        throw err;
      }
      await table.save({ ...rec, state: 'ready' });
      if (source === undefined) this.#d.meter.set(Name, 0);
      log.info('volume created', { volume: Name, type: prepared.type, ...(prepared.sizeBytes !== undefined && { sizeBytes: prepared.sizeBytes }) });
      return {};
    });
  }

  /**
   * What a new volume starts from (`from=` or `from-snapshot=`), with its spec completed: clones keep
   * the source's size limit. A size-limited source is copied whole, as an image, while frozen.
   */
  async #sourceOf(name: string, spec: VolumeSpec): Promise<{ spec: VolumeSpec; source?: BuildSource }> {
    const { table, snapshots, log } = this.#d;
    if (spec.fromSnapshot) {
      const { volume, snapshot } = spec.fromSnapshot;
      const snap = snapshots.ready(volume, snapshot);
      const dir = snapshots.dir(volume, snapshot);
      if (snap.form === 'tree') return { spec, source: { tree: join(dir, 'data') } };
      if (spec.sizeBytes !== undefined && spec.sizeBytes !== snap.spec.sizeBytes) {
        throw new InvalidRequestError(`size=${spec.sizeBytes} differs from the snapshot's size limit (${snap.spec.sizeBytes} bytes): a clone keeps it; leave size out`);
      }
      return { spec: { ...spec, sizeBytes: snap.spec.sizeBytes }, source: { image: join(dir, 'disk.ext4') } };
    }
    if (spec.from === undefined) return { spec };
    const from = table.ready(spec.from);
    const fromKind = kindOf(from.spec);
    if (!fromKind.cloneable) {
      throw new InvalidRequestError(`volume "${name}": from=${from.name} names a ${fromKind.backing} volume, which from= does not copy; copy the directory with cp, or use a tsvol volume`);
    }
    if (!fromKind.keepsContent && usersOf(from) === 0) log.info('copying an unmounted tmpfs volume: the copy starts empty', { volume: name, from: from.name });
    if (fromKind.snapshotForm === 'image' && (spec.sizeBytes ?? from.spec.sizeBytes) === from.spec.sizeBytes) {
      const fromPaths = table.paths(from.name);
      return { spec: { ...spec, sizeBytes: from.spec.sizeBytes }, source: { image: fromPaths.image, freeze: fromPaths.data } };
    }
    return { spec, source: { tree: fromKind.contentPath(kindContext(this.#d, from.name), from.spec) } };
  }

  async remove({ Name }: { Name: string }): Promise<VolumeResponses['Remove']> {
    const { table, host, meter, log } = this.#d;
    const ctx = kindContext(this.#d, Name);
    const { paths } = ctx;
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
      const trash = await inVolume(Name, async () => {
        await unpublishVolume(host, paths);
        await kindOf(rec.spec).deactivate(ctx, rec.spec);
        await assertNoMounts(host, paths.dir);
        return trashVolumeDir(paths);
      });
      // The rename to trash is the Remove's commit point: a restart that finds the trash (and the
      // record) finishes the Remove. So the answer does not wait for the record's sync; the record is
      // forgotten in memory now, deleted durably next, and only then is the trash deleted.
      meter.forget(Name);
      this.#background(
        table.delete(Name).then(() => deleteTrash(trash)),
        (err) => log.warn('could not finish deleting a removed volume; the next start does', { volume: Name, err: err.message }),
      );
      log.info('volume removed', { volume: Name });
      return {};
    });
  }

  async mount({ Name, ID }: MountRequest): Promise<VolumeResponses['Mount']> {
    const { table, host, log } = this.#d;
    const ctx = kindContext(this.#d, Name);
    const { paths } = ctx;
    return table.lock([Name], async () => {
      const rec = table.ready(Name);
      await inVolume(Name, async () => {
        await kindOf(rec.spec).activate(ctx, rec.spec);
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
    const ctx = kindContext(this.#d, Name);
    const { paths } = ctx;
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
          await kindOf(rec.spec).release(ctx, rec.spec);
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
    // dockerd asks Get for the name before every create: "not found" is routine there, not a refusal.
    return { Volume: await this.info(Name, { expected: true }) };
  }

  /**
   * Get's answer for `name`; with `fresh`, a directory's usage is measured now. An unknown name is a
   * NotFoundError, `expected` as asked (see PluginError.expected).
   */
  async info(name: string, opts: { fresh?: boolean; expected?: boolean } = {}): Promise<DetailedVolume> {
    const ctx = kindContext(this.#d, name);
    const rec = this.#d.table.ready(name, { expected: opts.expected ?? false });
    const Status = await inVolume(name, () => volumeStatus(rec, ctx, this.#d.meter, opts));
    return { Name: name, Mountpoint: ctx.paths.mountpoint, CreatedAt: rec.createdAt, Status };
  }

  async list(): Promise<VolumeResponses['List']> {
    return { Volumes: [...this.#d.table.listed()] };
  }

  async capabilities(): Promise<VolumeResponses['Capabilities']> {
    return { Capabilities: { Scope: 'local' } };
  }
}
