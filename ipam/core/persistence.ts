/**
 * @module What the allocator needs from durable storage, as records and one small interface. The local
 * implementation is store-persistence.ts (LevelDB through common/store); the cluster-wide one
 * (ipam/cluster/cluster-persistence.ts, etcd) implements the per-pool part with compare-and-create transactions, which
 * is why an address is *claimed* (the backend may answer with the record of whoever holds it) rather than
 * simply written.
 *
 * Layout: one record per pool, one record per held address, one serial cursor per pool. A record per
 * address keeps each allocation one small write whatever the pool's size (a per-pool record would be
 * rewritten whole on every allocation), maps one-to-one onto etcd keys for a cluster backend, and
 * carries who holds the address and since when for `tsnet ipam inspect` and `gc`.
 */

/** Schema version of the records below. */
export const RECORD_VERSION = 1;

/** A pool as stored. */
export interface PoolRecord {
  v: typeof RECORD_VERSION;
  /** `LocalDefault/10.20.0.0/24`, or with a sub-pool `LocalDefault/10.20.0.0/24/10.20.0.128/25`. */
  id: string;
  space: string;
  /** Canonical CIDR of the subnet. */
  pool: string;
  /** Canonical CIDR of the sub-pool (`--ip-range`), if any. */
  subPool?: string;
  /** The RequestPool options (`--ipam-opt`). */
  options: Record<string, string>;
  /** Whether tsipam chose the subnet from its default pools. */
  auto: boolean;
  /** ISO time of creation. */
  createdAt: string;
}

/** Why an address is held: the network's gateway, an `--aux-address`, or an endpoint (container). */
export type AddressKind = 'gateway' | 'aux' | 'endpoint';

/** A held address as stored. */
export interface AddressRecord {
  v: typeof RECORD_VERSION;
  poolId: string;
  /** Canonical text of the address (no prefix length). */
  address: string;
  kind: AddressKind;
  /** Endpoint (container) name, from `com.docker.network.endpoint.name` (Engine 29+). */
  name?: string;
  /** MAC address the daemon sent (`RequiresMACAddress`). */
  mac?: string;
  /** Cluster pools only: the host ID (ClusterSession.hostId) that claimed the address. */
  host?: string;
  /** ISO time of the allocation. */
  at: string;
}

/** Everything stored, read once at start-up. */
export interface IpamSnapshot {
  pools: PoolRecord[];
  addresses: AddressRecord[];
  /** Serial position (last address handed out by next-free) per pool ID. */
  cursors: Map<string, string>;
}

/**
 * Durable storage of one kind of pool (local or cluster) and its held addresses. Every method resolves
 * only once its write is durable.
 */
export interface PoolPersistence {
  /** Stores a new pool (a cluster backend creates or joins it, and may refuse). */
  createPool(pool: PoolRecord): Promise<void>;
  /** Removes a pool, its cursor and the records of `addresses` (held addresses of it), atomically. */
  deletePool(id: string, addresses: readonly string[]): Promise<void>;
  /**
   * Records a held address, and the pool's new serial position when given. Resolves undefined when the
   * address is now held for `rec`, or with the holder's record when the backend finds it already held (a
   * cluster backend, by another host); the local store never does.
   */
  claimAddress(rec: AddressRecord, cursor?: string): Promise<AddressRecord | undefined>;
  /** Removes the records of `addresses` in pool `poolId`; missing ones are fine. */
  releaseAddresses(poolId: string, addresses: readonly string[]): Promise<void>;
  /** The held-address records of one pool, in any order. */
  addresses(poolId: string): Promise<AddressRecord[]>;
}

/** The local storage: every local pool, and the records of the cluster pools this host uses (not their addresses). */
export interface IpamPersistence extends PoolPersistence {
  /** Reads everything stored. */
  load(): Promise<IpamSnapshot>;
}
