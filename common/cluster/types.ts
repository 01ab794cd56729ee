/**
 * @module The cluster store as the drivers see it: a small etcd v3 client interface (keys, ranges,
 * transactions, leases, watches) and the host's session in the cluster (its ID, its VTEP address and
 * the leases that say it is alive). The implementation speaks etcd's v3 JSON gateway over HTTP
 * (etcd-client.ts); the drivers only see these types. Keys and values are plain strings (the client
 * does the base64 of the wire format); revisions are numbers, lease IDs decimal strings.
 */

/** One key as etcd stores it. */
export interface KeyValue {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  version: number;
  /** Lease the key is attached to, `'0'` when none. */
  lease: string;
}

/** One comparison of a transaction; `prefix: true` compares every key under `key` (etcd's range_end). */
export type Compare = { key: string; prefix?: boolean; result: 'equal' | 'not_equal' | 'greater' | 'less' } & (
  | { target: 'create'; createRevision: number }
  | { target: 'mod'; modRevision: number }
  | { target: 'version'; version: number }
  | { target: 'value'; value: string }
);

/** One operation of a transaction. */
export type Op =
  | { put: { key: string; value: string; lease?: string } }
  | { deleteRange: { key: string; prefix?: boolean } }
  | { range: { key: string; prefix?: boolean } };

export interface TxnResult {
  succeeded: boolean;
  /** Store revision after the transaction. */
  revision: number;
  /** One per operation of the branch that ran; `kvs` for range operations. */
  responses: Array<{ kvs?: KeyValue[] }>;
}

export interface WatchEvent {
  type: 'put' | 'delete';
  /** On delete, `value` is `''` and the revisions are those of the deletion. */
  kv: KeyValue;
}

export interface WatchHandlers {
  /** Events in revision order; `revision` is the newest seen. */
  onEvents(events: WatchEvent[], revision: number): void;
  /**
   * The watch could not resume where it stopped (the revision was compacted): the caller must re-read
   * the prefix and diff; the watch continues from the current revision.
   */
  onReset(): void;
  /** Connection lost or regained (for logging and status); the watch reconnects by itself. */
  onConnection?(up: boolean, err?: Error): void;
}

export interface Watch {
  close(): void;
}

/** What the suite asks of etcd. Every call fails with EtcdUnavailableError within its timeout when no endpoint answers. */
export interface EtcdClient {
  /** The endpoints, as `http://host:port`, for messages. */
  readonly endpoints: readonly string[];
  get(key: string): Promise<KeyValue | undefined>;
  /** Every key starting with `prefix`, sorted by key, and the store revision they were read at. */
  range(prefix: string): Promise<{ kvs: KeyValue[]; revision: number }>;
  /** @returns the store revision after the put. */
  put(key: string, value: string, opts?: { lease?: string }): Promise<number>;
  /** @returns how many keys were deleted. */
  delete(key: string, opts?: { prefix?: boolean }): Promise<number>;
  txn(compare: Compare[], success: Op[], failure?: Op[]): Promise<TxnResult>;
  /** @returns the new lease's ID. */
  grantLease(ttlSeconds: number): Promise<string>;
  /** Renews a lease once. @returns its TTL in seconds, 0 when the lease no longer exists. */
  keepAlive(leaseId: string): Promise<number>;
  /** Revokes a lease (its keys are deleted); an unknown lease is fine. */
  revokeLease(leaseId: string): Promise<void>;
  /** Watches every key under `prefix`, from revision `fromRevision` (inclusive), reconnecting until closed. */
  watchPrefix(prefix: string, fromRevision: number, handlers: WatchHandlers): Watch;
  /** Stops every watch and open request. */
  close(): void;
}

/** The root of every key the suite writes. */
export const KEY_ROOT = '/tsnet/v1/';

/**
 * This host in the cluster. Two leases keep it present: the *live* lease (short TTL, `--cluster-ttl`)
 * holds the keys that must vanish soon after the host dies (its overlay endpoints); the *hold* lease
 * (TTL = the grace period, `--cluster-grace`) holds `/tsnet/v1/held/<hostId>`, and as long as that key
 * exists nobody may take the host's addresses. Both lease IDs are kept in the local state directory,
 * so a restarted plugin picks up its leases when they are still alive (remote hosts notice nothing).
 */
export interface ClusterSession {
  readonly client: EtcdClient;
  /** Stable per state directory (a random ID written once). */
  readonly hostId: string;
  /** The VTEP address other hosts send VXLAN to (`--advertise-addr`, resolved to an IP). */
  readonly advertiseAddr: string;
  /** MTU of the interface that holds advertiseAddr. */
  readonly advertiseMtu: number;
  /** The current live lease (changes when it expired and was granted anew). */
  liveLease(): string;
  /**
   * Called after the live lease was granted anew (it had expired, e.g. while etcd was away): whoever put
   * keys on the old lease puts them again. Also called once after start-up.
   */
  onRenewed(fn: () => Promise<void>): void;
  /** Whether a host's hold key exists (its addresses must not be taken). */
  isHeld(hostId: string): Promise<boolean>;
  /** Stops the keep-alives; leaves the leases to expire (a restart within the TTL takes them over). */
  close(): Promise<void>;
}
