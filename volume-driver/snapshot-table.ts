/**
 * @module Snapshot records (store collection `volume-snapshots`, keyed `VOLUME@SNAPSHOT`) with an
 * in-memory copy, and where a snapshot's files live: `<stateDir>/snapshots/VOLUME@SNAPSHOT/`, holding
 * `disk.ext4` (a copy of a size-limited volume's image) or `data/` (a copy of a directory's tree).
 * A snapshot is independent of its volume: it outlives `volume rm` until `tsnet volume rm-snapshot`.
 */
import { join } from 'node:path';
import type { Collection, Store } from '../common/store/store.js';
import { NotFoundError } from '../common/protocol/errors.js';
import { checkVolumeName } from './names.js';
import type { VolumeSpec } from './options.js';

/** Name of the store collection holding {@link SnapshotRecord}s. */
export const SNAPSHOTS_COLLECTION = 'volume-snapshots';

/** One snapshot as stored, version 1. */
export interface SnapshotRecord {
  v: 1;
  volume: string;
  name: string;
  /** `creating`: written before the copy starts; found at start, the snapshot is deleted. */
  state: 'creating' | 'ready';
  /** `image`: `disk.ext4`; `tree`: `data/`. */
  form: 'image' | 'tree';
  /** The volume's spec when the snapshot was taken (clones keep its size limit). */
  spec: VolumeSpec;
  /** RFC 3339. */
  createdAt: string;
  /** How the copy was made: `reflink`, `sparse copy` (images) or `tree copy`. */
  method?: string;
  /** Bytes the snapshot takes on disk (allocated), measured once it is complete. */
  bytes?: number;
  /** Milliseconds the copy took (the volume was frozen that long, for an image). */
  tookMs?: number;
}

/** The key of a snapshot, also its directory name and its lock (`@` is in no volume name). */
export const snapshotKey = (volume: string, name: string) => `${volume}@${name}`;

/** Snapshot records, durable in the store and cached in memory. */
export class SnapshotTable {
  /** `<stateDir>/snapshots`. */
  readonly root: string;
  readonly #col: Collection<SnapshotRecord>;
  readonly #records = new Map<string, SnapshotRecord>();

  private constructor(store: Store, root: string) {
    this.#col = store.collection<SnapshotRecord>(SNAPSHOTS_COLLECTION);
    this.root = root;
  }

  static async load(store: Store, root: string): Promise<SnapshotTable> {
    const table = new SnapshotTable(store, root);
    for (const [key, rec] of await table.#col.entries()) table.#records.set(key, rec);
    return table;
  }

  /** The directory of snapshot `name` of `volume` (checking both names). */
  dir(volume: string, name: string): string {
    checkVolumeName(volume);
    checkVolumeName(name);
    return join(this.root, snapshotKey(volume, name));
  }

  find(volume: string, name: string): SnapshotRecord | undefined {
    const rec = this.#records.get(snapshotKey(volume, name));
    return rec && structuredClone(rec);
  }

  /** @throws NotFoundError naming the snapshot when there is no complete one. */
  ready(volume: string, name: string): SnapshotRecord {
    const rec = this.find(volume, name);
    if (rec?.state !== 'ready') throw new NotFoundError(`snapshot "${snapshotKey(volume, name)}" not found: volume "${volume}" has no snapshot of that name`);
    return rec;
  }

  /** Copies of all records (of `volume` if given), ordered by volume then time. */
  all(volume?: string): SnapshotRecord[] {
    return [...this.#records.values()]
      .filter((r) => volume === undefined || r.volume === volume)
      .sort((a, b) => (a.volume === b.volume ? (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.name < b.name ? -1 : 1) : a.volume < b.volume ? -1 : 1))
      .map((r) => structuredClone(r));
  }

  async save(rec: SnapshotRecord): Promise<void> {
    await this.#col.put(snapshotKey(rec.volume, rec.name), rec);
    this.#records.set(snapshotKey(rec.volume, rec.name), structuredClone(rec));
  }

  async delete(volume: string, name: string): Promise<void> {
    await this.#col.del(snapshotKey(volume, name));
    this.#records.delete(snapshotKey(volume, name));
  }
}
