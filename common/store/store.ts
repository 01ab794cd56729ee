/**
 * @module The state store contract. Drivers keep every record they must not lose here, in named
 * collections of JSON values keyed by string. Writes are durable when the returned promise resolves,
 * so a plugin may answer Docker right after. Implemented by LevelStore (LevelDB, what every plugin
 * uses) and MemoryStore (unit tests), both held to store.contract.ts. Cluster-wide data (overlay
 * networks, cluster pools) does not go through this contract: it lives in etcd, reached through
 * common/cluster (see docs/architecture.md "State and the store").
 */

/** One write in an atomic {@link Store.batch}. */
export type StoreOp =
  | { type: 'put'; collection: string; key: string; value: unknown }
  | { type: 'del'; collection: string; key: string };

/** A typed view of one collection. */
export interface Collection<T> {
  /** The value under `key`, or `undefined`. */
  get(key: string): Promise<T | undefined>;
  /** Stores `value` under `key` (replacing any), durably. */
  put(key: string, value: T): Promise<void>;
  /** Removes `key`; a missing key is not an error. Durable. */
  del(key: string): Promise<void>;
  /** Every entry (or those whose key starts with `prefix`), ordered by key. */
  entries(prefix?: string): Promise<Array<[string, T]>>;
  /** The `put` op for {@link Store.batch}, typed. */
  putOp(key: string, value: T): StoreOp;
  /** The `del` op for {@link Store.batch}. */
  delOp(key: string): StoreOp;
}

export interface Store {
  /** A typed view of `name`. Collection names are `[a-z0-9-]+`. */
  collection<T>(name: string): Collection<T>;
  /** Applies all `ops` or none, durably. */
  batch(ops: StoreOp[]): Promise<void>;
  /** Releases the store (closes LevelDB). Further calls reject. */
  close(): Promise<void>;
}

const COLLECTION_NAME = /^[a-z0-9-]+$/;

/** Throws a TypeError for a collection name outside `[a-z0-9-]+`. */
export function checkCollectionName(name: string): void {
  if (!COLLECTION_NAME.test(name)) throw new TypeError(`invalid collection name "${name}": use [a-z0-9-]+`);
}

/** The part of a collection both implementations share: ops are plain data. */
export function makeOps<T>(name: string): Pick<Collection<T>, 'putOp' | 'delOp'> {
  return {
    putOp: (key, value) => ({ type: 'put', collection: name, key, value }),
    delOp: (key) => ({ type: 'del', collection: name, key }),
  };
}
