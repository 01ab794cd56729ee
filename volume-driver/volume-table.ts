/**
 * @module The volumes the driver knows: the store's `volumes` collection with an in-memory copy (the
 * plugin process is the store's only writer, so Get and List never touch the disk), and a lock per
 * volume name. Records handed out are copies: a change counts only once {@link VolumeTable.save}
 * has made it durable. Writes go through a {@link GroupCommit}: concurrent Creates, Mounts and
 * Removes of different volumes share one synced batch, and each still waits for its own to be on disk.
 */
import { KeyedMutex } from '../common/keyed-mutex.js';
import { GroupCommit } from '../ipam/core/group-commit.js';
import type { Collection, Store } from '../common/store/store.js';
import { NotFoundError } from '../common/protocol/errors.js';
import { volumePaths, type VolumePaths } from './names.js';
import { VOLUMES_COLLECTION, type VolumeRecord } from './record.js';

/**
 * How long a delete waits before it is written. dockerd syncs its own volume metadata right after a
 * Remove answers; a sync of ours at that moment made `docker volume rm` wait for both. Deletes within
 * the delay share one sync.
 */
export const DELETE_DELAY_MS = 25;

/** The volume records, durable in the store and cached in memory, with per-name locks. */
export class VolumeTable {
  /** The volumes root: `<stateDir>/volumes`. */
  readonly root: string;
  /** Where Mountpoints are published (`--mount-dir`); undefined: a volume's data directory is its Mountpoint. */
  readonly mountDir: string | undefined;
  readonly #col: Collection<VolumeRecord>;
  readonly #records = new Map<string, VolumeRecord>();
  readonly #mutex = new KeyedMutex();
  readonly #commit: GroupCommit;
  /** List's answer, kept until a volume appears, disappears or changes state (dockerd lists often). */
  #listed: Array<{ Name: string; Mountpoint: string }> | undefined;

  private constructor(store: Store, root: string, mountDir: string | undefined) {
    this.#col = store.collection<VolumeRecord>(VOLUMES_COLLECTION);
    this.#commit = new GroupCommit((ops) => store.batch(ops));
    this.root = root;
    this.mountDir = mountDir;
  }

  /** Reads every record from `store`. */
  static async load(store: Store, root: string, mountDir?: string): Promise<VolumeTable> {
    const table = new VolumeTable(store, root, mountDir);
    for (const [name, rec] of await table.#col.entries()) table.#records.set(name, rec);
    return table;
  }

  /** A copy of the record of `name`, in any state. */
  find(name: string): VolumeRecord | undefined {
    const rec = this.#records.get(name);
    return rec && structuredClone(rec);
  }

  /**
   * A copy of the record of a ready volume.
   * @throws NotFoundError naming the volume when there is none (or it is half created or removed).
   */
  ready(name: string, opts: { expected?: boolean } = {}): VolumeRecord {
    const rec = this.find(name);
    if (rec?.state !== 'ready') throw new NotFoundError(`volume "${name}" not found: no tsvol volume has that name`, opts);
    return rec;
  }

  /** Copies of all records, ordered by name. */
  all(): VolumeRecord[] {
    return [...this.#records.values()].sort((a, b) => (a.name < b.name ? -1 : 1)).map((r) => structuredClone(r));
  }

  /** Ready volumes' names, ordered, without copying records. */
  readyNames(): string[] {
    return [...this.#records.values()].filter((r) => r.state === 'ready').map((r) => r.name).sort();
  }

  /** Name and Mountpoint of every ready volume, ordered by name; cached between changes. */
  listed(): ReadonlyArray<{ Name: string; Mountpoint: string }> {
    this.#listed ??= this.readyNames().map((Name) => ({ Name, Mountpoint: this.paths(Name).mountpoint }));
    return this.#listed;
  }

  /** Writes `rec` durably, then makes it the current record. */
  async save(rec: VolumeRecord): Promise<void> {
    await this.#commit.submit([this.#col.putOp(rec.name, rec)]);
    if (this.#records.get(rec.name)?.state !== rec.state) this.#listed = undefined;
    this.#records.set(rec.name, structuredClone(rec));
  }

  /**
   * Deletes the record of `name`: at once in memory (Get and List stop seeing it), then durably, after
   * {@link DELETE_DELAY_MS} (a later save keeps its order and takes it along sooner); resolves when
   * durable. Callers make sure a restart in between ends the same way (a Remove's trash, an undone
   * Create's missing directory).
   */
  delete(name: string): Promise<void> {
    this.#records.delete(name);
    this.#listed = undefined;
    return this.#commit.submit([this.#col.delOp(name)], { laterMs: DELETE_DELAY_MS });
  }

  /** The paths of volume `name` (checking the name). */
  paths(name: string): VolumePaths {
    return volumePaths(this.root, name, this.mountDir);
  }

  /**
   * Runs `fn` holding the locks of all `names`, taken in sorted order so two calls can never wait on
   * each other.
   */
  lock<T>(names: readonly string[], fn: () => Promise<T>): Promise<T> {
    const sorted = [...new Set(names)].sort();
    const step = (i: number): Promise<T> => (i === sorted.length ? fn() : this.#mutex.run(sorted[i]!, () => step(i + 1)));
    return step(0);
  }
}
