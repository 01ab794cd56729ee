/**
 * @module {@link PoolPersistence} for cluster pools: the pool and its addresses in etcd (layout in
 * cluster-keys.ts), the pool record also in the local store (so the plugin knows, even with etcd away,
 * which pools are cluster pools and re-reads exactly those). Every etcd write is one transaction:
 *
 * - create or join a pool: create the definition if absent (compare create revision 0), else compare the
 *   definitions and, if alike, rewrite it (compare on its mod revision) with this host's user key;
 * - leave: remove this host's user key while rewriting the definition, or, when no other host uses the
 *   pool, delete the definition, the users and every address key (compare on the definition's mod revision);
 * - claim an address: create its key (compare create revision 0), else read who holds it;
 * - release or reclaim an address: delete its key if its mod revision is still the one read or written
 *   here, so a key that changed hands in between is never deleted.
 *
 * The client's errors (EtcdUnavailableError within its timeout) pass through unchanged.
 */
import type { ClusterSession, Compare, KeyValue, Op } from '../../common/cluster/types.js';
import type { Logger } from '../../common/log.js';
import { clusterKeys, clusterName, definitionDifferences, definitionOf, parseAddressRecord, parseDefinition } from './cluster-keys.js';
import { ClusterPoolMismatchError } from '../errors.js';
import type { AddressRecord, PoolPersistence, PoolRecord } from '../core/persistence.js';

/** How often a join or leave is retried when another host's join or leave changed the pool in between. */
const POOL_TXN_ATTEMPTS = 32;

const createdNever = (key: string): Compare => ({ key, target: 'create', result: 'equal', createRevision: 0 });
const modIs = (key: string, modRevision: number): Compare => ({ key, target: 'mod', result: 'equal', modRevision });
const put = (key: string, value: string): Op => ({ put: { key, value } });

/** Cluster pools in etcd plus their records in the local store; see the module comment. */
export class ClusterPersistence implements PoolPersistence {
  readonly #session: ClusterSession;
  readonly #local: PoolPersistence;
  readonly #log: Logger;
  /** Mod revision of each address key as last read or written here; releases compare on it. */
  readonly #revs = new Map<string, number>();

  /** `local` keeps the records of the cluster pools this host uses. */
  constructor(session: ClusterSession, local: PoolPersistence, log: Logger) {
    this.#session = session;
    this.#local = local;
    this.#log = log;
  }

  /** This host's ID in the cluster. */
  get hostId(): string {
    return this.#session.hostId;
  }

  /** Creates or joins the pool in etcd, then records it locally. Throws ClusterPoolMismatchError naming the differences. */
  async createPool(record: PoolRecord): Promise<void> {
    await this.#join(record);
    await this.#local.createPool(record);
  }

  async #join(record: PoolRecord): Promise<void> {
    const keys = clusterKeys(record.id);
    const want = definitionOf(record, this.hostId);
    const user = put(keys.users + this.hostId, JSON.stringify({ since: record.createdAt }));
    await this.#retry(`join cluster pool ${clusterName(record.id)}`, async () => {
      const kv = await this.#session.client.get(keys.pool);
      if (!kv) return (await this.#session.client.txn([createdNever(keys.pool)], [put(keys.pool, JSON.stringify(want)), user])).succeeded;
      const has = parseDefinition(kv.value);
      if (!has) throw new Error(`cluster pool ${clusterName(record.id)}: unreadable definition at ${keys.pool} in etcd`);
      const diff = definitionDifferences(has, want);
      if (diff.length > 0) {
        throw new ClusterPoolMismatchError(
          `cluster pool ${clusterName(record.id)} (created by host ${has.createdBy}) differs from what this host asked for: ${diff.join('; ')}; create the network with the same --subnet, --ip-range and --ipam-opt on every host`,
        );
      }
      return (await this.#session.client.txn([modIs(keys.pool, kv.modRevision)], [put(keys.pool, kv.value), user])).succeeded;
    });
    this.#log.info('cluster pool joined', { poolId: record.id, hostId: this.hostId });
  }

  /**
   * Leaves the pool in etcd, then forgets it locally. When no other host uses the pool, it is deleted with
   * all its addresses. A gone host still uses it (its gateway and aux addresses are still its network's):
   * it leaves when its network is removed there.
   */
  async deletePool(id: string): Promise<void> {
    const keys = clusterKeys(id);
    const me = keys.users + this.hostId;
    let last = false;
    await this.#retry(`leave cluster pool ${clusterName(id)}`, async () => {
      const read = await this.#session.client.txn([], [{ range: { key: keys.pool } }, { range: { key: keys.users, prefix: true } }]);
      const pool = read.responses[0]?.kvs?.[0];
      if (!pool) return true;
      last = !(read.responses[1]?.kvs ?? []).some((u) => u.key !== me);
      const ops: Op[] = last
        ? [{ deleteRange: { key: keys.pool } }, { deleteRange: { key: keys.users, prefix: true } }, { deleteRange: { key: keys.addresses, prefix: true } }]
        : [put(keys.pool, pool.value), { deleteRange: { key: me } }];
      return (await this.#session.client.txn([modIs(keys.pool, pool.modRevision)], ops)).succeeded;
    });
    for (const key of [...this.#revs.keys()].filter((k) => k.startsWith(keys.addresses))) this.#revs.delete(key);
    this.#log.info(last ? 'cluster pool deleted (last user)' : 'cluster pool left', { poolId: id, hostId: this.hostId });
    await this.#local.deletePool(id, []);
  }

  /** Creates the address key; resolves with the holder's record when the key exists. The serial cursor is not kept in etcd. */
  async claimAddress(rec: AddressRecord): Promise<AddressRecord | undefined> {
    const key = clusterKeys(rec.poolId).addresses + rec.address;
    const r = await this.#session.client.txn([createdNever(key)], [put(key, JSON.stringify(rec))], [{ range: { key } }]);
    if (r.succeeded) {
      this.#revs.set(key, r.revision);
      return undefined;
    }
    const kv = r.responses[0]?.kvs?.[0];
    if (kv) this.#revs.set(key, kv.modRevision);
    return (kv && parseAddressRecord(kv.value)) ?? { ...rec, host: 'unknown (unreadable record)' };
  }

  /** Deletes this host's keys of `addresses`; a key another host holds (or that changed since read here) is left alone. */
  async releaseAddresses(poolId: string, addresses: readonly string[]): Promise<void> {
    const prefix = clusterKeys(poolId).addresses;
    await Promise.all(
      addresses.map(async (address) => {
        const key = prefix + address;
        let rev = this.#revs.get(key);
        if (rev === undefined) {
          const kv = await this.#session.client.get(key);
          if (!kv || parseAddressRecord(kv.value)?.host !== this.hostId) return;
          rev = kv.modRevision;
        }
        await this.#deleteIfUnchanged(key, rev);
      }),
    );
  }

  /**
   * Every held address of a pool this host uses, as etcd has it now, in one read; when the pool or this
   * host's use of it is missing from etcd (etcd lost its data, or someone deleted the keys), joins it
   * again first.
   */
  async read(record: PoolRecord): Promise<AddressRecord[]> {
    const keys = clusterKeys(record.id);
    const ops: Op[] = [{ range: { key: keys.pool } }, { range: { key: keys.users + this.hostId } }, { range: { key: keys.addresses, prefix: true } }];
    const r = await this.#session.client.txn([], ops);
    if (r.responses[0]?.kvs?.length && r.responses[1]?.kvs?.length) return (r.responses[2]?.kvs ?? []).flatMap((kv) => this.#remember(kv));
    this.#log.warn('cluster pool or this host\'s use of it missing from etcd; joining again', { poolId: record.id });
    await this.#join(record);
    return this.addresses(record.id);
  }

  /** Every held address of the pool, as etcd has it now. */
  async addresses(poolId: string): Promise<AddressRecord[]> {
    const { kvs } = await this.#session.client.range(clusterKeys(poolId).addresses);
    return kvs.flatMap((kv) => this.#remember(kv));
  }

  /**
   * The endpoint addresses of the pool held by hosts whose hold key is gone (their grace period ended),
   * deleted unless `dryRun`. Shared addresses (gateway, aux) stay: they go with the pool. Resolves with
   * what was (or would be) reclaimed.
   */
  async reclaim(poolId: string, dryRun: boolean): Promise<AddressRecord[]> {
    const held = await this.addresses(poolId);
    const hosts = [...new Set(held.flatMap((r) => (r.kind === 'endpoint' && r.host && r.host !== this.hostId ? [r.host] : [])))];
    const gone = new Set((await Promise.all(hosts.map(async (h) => ((await this.#session.isHeld(h)) ? [] : [h])))).flat());
    const victims = held.filter((r) => r.kind === 'endpoint' && r.host !== undefined && gone.has(r.host));
    if (dryRun || victims.length === 0) return victims;
    const prefix = clusterKeys(poolId).addresses;
    const done = await Promise.all(victims.map((r) => this.#deleteIfUnchanged(prefix + r.address, this.#revs.get(prefix + r.address) ?? 0)));
    const reclaimed = victims.filter((_, i) => done[i]);
    this.#log.info('addresses of gone hosts reclaimed', { poolId, hosts: [...gone], addresses: reclaimed.length });
    return reclaimed;
  }

  #remember(kv: KeyValue): AddressRecord[] {
    const rec = parseAddressRecord(kv.value);
    if (!rec) {
      this.#log.warn('skipping unreadable address record in etcd', { key: kv.key });
      return [];
    }
    this.#revs.set(kv.key, kv.modRevision);
    return [rec];
  }

  async #deleteIfUnchanged(key: string, rev: number): Promise<boolean> {
    const { succeeded } = await this.#session.client.txn([modIs(key, rev)], [{ deleteRange: { key } }]);
    this.#revs.delete(key);
    return succeeded;
  }

  /** Runs `attempt` until it reports success; throws when other hosts keep changing the pool. */
  async #retry(what: string, attempt: () => Promise<boolean>): Promise<void> {
    for (let i = 0; i < POOL_TXN_ATTEMPTS; i++) if (await attempt()) return;
    throw new Error(`could not ${what}: other hosts changed it ${POOL_TXN_ATTEMPTS} times in a row; try again`);
  }
}
