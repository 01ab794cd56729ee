/**
 * @module The tsipam allocator: address spaces, pools and addresses, as plain logic over an injected
 * {@link IpamPersistence} (the local store) and an injected reader of host routes, plus, given a cluster
 * session, cluster pools (`--ipam-opt cluster=true`) in etcd (ipam/cluster/cluster-pools.ts). It knows nothing of HTTP
 * or Docker's wire names (ipam/driver.ts maps those). Cluster pools live in memory like local ones (their
 * records also in the local store, their addresses only in etcd, read when first used after a start).
 *
 * Locking: a KeyedMutex serialises per address space (`space:<name>`: RequestPool, ReleasePool) and per
 * pool (`pool:<id>`: addresses); ReleasePool takes space then pool, and nothing takes them the other way
 * round. An allocation holds the pool lock only while it picks the address in memory and queues its
 * write; it then waits, unlocked, for the write to be durable before answering, so concurrent
 * allocations share one fsync (group commit) yet never share an address.
 */
import { formatIp, parseIp, type Family } from '../../common/addr/parse.js';
import type { ClusterSession } from '../../common/cluster/types.js';
import { KeyedMutex } from '../../common/keyed-mutex.js';
import type { Logger } from '../../common/log.js';
import { InvalidRequestError, NotFoundError } from '../../common/protocol/errors.js';
import { AddressPool, type PoolUsage } from './address-pool.js';
import { isClusterPool } from '../cluster/cluster-keys.js';
import { ClusterPersistence } from '../cluster/cluster-persistence.js';
import { ClusterPools, type Pick } from '../cluster/cluster-pools.js';
import { ClusterView, sharedAlike } from '../cluster/cluster-view.js';
import { findFreeSubnet, type DefaultPool } from './default-pools.js';
import { AddressInUseError, PoolExhaustedError, PoolInUseError, PoolOverlapError } from '../errors.js';
import { RECORD_VERSION, type AddressRecord, type IpamPersistence, type PoolPersistence, type PoolRecord } from './persistence.js';
import { garbageOf, knownSets, type GcItem, type KnownSets, type KnownUse } from './gc.js';
import { containsAddress, formatPrefix, overlaps, parsePrefix, type Prefix } from '../../common/addr/prefix.js';
import { addressRecord, isGatewayRequest, nextMode, OPTION, planPool, type AddressRequest, type AddressSpace, type PoolRequest } from './requests.js';

/** What the allocator is built from. */
export interface AllocatorOptions {
  persistence: IpamPersistence;
  /** Default pools (both families) of each space, in the order they are tried. */
  defaultPools: Record<AddressSpace, readonly DefaultPool[]>;
  /** Prefixes of the host's routes of `family`, read at the moment of each automatic pool request. */
  hostRoutes(family: Family): Promise<Prefix[]>;
  log: Logger;
  now?: () => Date;
  /** This host in the cluster (`tsnet serve --cluster-store`); without it, cluster pools are refused. */
  cluster?: ClusterSession;
}

/** One pool for `tsnet ipam ls`. */
export interface PoolSummary extends PoolUsage {
  record: PoolRecord;
  /** Serial position, if any address was handed out by next-free. */
  cursor?: string;
}

/** A pool in memory; a cluster pool's `pool` is replaced whenever it is read again from etcd. */
export interface LivePool {
  record: PoolRecord;
  pool: AddressPool;
  /** For a cluster pool, what this host knows of it beyond which addresses are held. */
  cluster?: ClusterView;
}

const compare = <T extends string | bigint>(a: T, b: T) => (a < b ? -1 : a > b ? 1 : 0);

/** How many times an allocation is retried when a cluster backend reports the address taken by a peer. */
const CLAIM_ATTEMPTS = 64;

/** Pools and addresses of both spaces, durable through {@link IpamPersistence}; see the module comment. */
export class IpamAllocator {
  readonly #opts: AllocatorOptions;
  readonly #pools = new Map<string, LivePool>();
  readonly #mutex = new KeyedMutex();
  readonly #now: () => Date;
  readonly #cluster: ClusterPools | undefined;

  private constructor(opts: AllocatorOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? (() => new Date());
    if (opts.cluster) this.#cluster = new ClusterPools(new ClusterPersistence(opts.cluster, opts.persistence, opts.log), opts.log, this.#now);
  }

  /**
   * Loads every pool and held address from the persistence; records that do not parse are logged and
   * skipped. Cluster pools are read from etcd in the background (and, failing that, when first used).
   */
  static async open(opts: AllocatorOptions): Promise<IpamAllocator> {
    const a = new IpamAllocator(opts);
    const snap = await opts.persistence.load();
    for (const record of snap.pools) {
      const subnet = parsePrefix(record.pool);
      const range = record.subPool ? parsePrefix(record.subPool) : undefined;
      if (!subnet || (record.subPool && !range)) {
        opts.log.warn('skipping unreadable pool record', { poolId: record.id });
        continue;
      }
      const cursorText = snap.cursors.get(record.id);
      const cursor = cursorText === undefined ? undefined : parseIp(cursorText)?.addr;
      const pool = new AddressPool({ id: record.id, space: record.space, subnet, range }, cursor);
      a.#pools.set(record.id, { record, pool, ...(isClusterPool(record) && { cluster: new ClusterView(opts.cluster?.hostId ?? '') }) });
    }
    for (const rec of snap.addresses) {
      const live = a.#pools.get(rec.poolId);
      const ip = parseIp(rec.address);
      if (live && ip && containsAddress(live.pool.spec.subnet, ip.family, ip.addr)) live.pool.restore(ip.addr);
      else opts.log.warn('skipping address record outside any known pool', { poolId: rec.poolId, address: rec.address });
    }
    opts.log.info('ipam state loaded', { pools: a.#pools.size, addresses: snap.addresses.length });
    for (const live of a.#pools.values()) {
      if (!live.cluster || !a.#cluster) continue;
      const id = live.record.id;
      a.#mutex.run(`pool:${id}`, () => a.#cluster!.sync(live)).catch((err: unknown) => {
        opts.log.warn('cluster pool not read from etcd; it is read again when next used', { poolId: id, err: (err as Error).message });
      });
    }
    return a;
  }

  /**
   * Creates a pool: the given subnet (and sub-pool), or a free subnet from the space's default pools that
   * overlaps no pool of the space and no host route at this moment. Throws InvalidRequestError for bad
   * input, PoolOverlapError naming the pool it overlaps, PoolExhaustedError when no default subnet is free.
   * Not idempotent on purpose: the same subnet twice is an overlap (RequiresRequestReplay is false).
   */
  async requestPool(req: PoolRequest): Promise<{ id: string; subnet: Prefix }> {
    const { space, family, subnet: given, len, range, cluster } = planPool(req);
    if (cluster) this.#clusterPools(); // refuses at once without a cluster store
    return this.#mutex.run(`space:${space}`, async () => {
      const inSpace = [...this.#pools.values()].filter((p) => p.record.space === space).map((p) => p.pool.spec.subnet);
      let subnet: Prefix;
      if (!given) {
        const routes = await this.#opts.hostRoutes(family);
        const found = findFreeSubnet(this.#opts.defaultPools[space], family, len, [...inSpace, ...routes]);
        if (!found) {
          throw new PoolExhaustedError(
            `address space ${space}: all predefined address pools have been fully subnetted (no free IPv${family} ${len ? `/${len} ` : ''}subnet overlapping no pool and no host route)`,
          );
        }
        subnet = found;
      } else {
        subnet = given;
        const clash = [...this.#pools.values()].find((p) => p.record.space === space && overlaps(p.pool.spec.subnet, subnet));
        if (clash) {
          throw new PoolOverlapError(`pool ${formatPrefix(subnet)} overlaps pool ${clash.record.id} (subnet ${clash.record.pool}) in address space ${space}`);
        }
      }
      const id = [space, formatPrefix(subnet), ...(range ? [formatPrefix(range)] : [])].join('/');
      const record: PoolRecord = {
        v: RECORD_VERSION,
        id,
        space,
        pool: formatPrefix(subnet),
        ...(range && { subPool: formatPrefix(range) }),
        options: { ...req.options },
        auto: !given,
        createdAt: this.#now().toISOString(),
      };
      await this.#backend(record).createPool(record);
      const view = cluster ? new ClusterView(this.#clusterPools().persistence.hostId) : undefined;
      this.#pools.set(id, { record, pool: new AddressPool({ id, space, subnet, range }), ...(view && { cluster: view }) });
      this.#opts.log.info('pool created', { poolId: id, auto: !given, cluster });
      return { id, subnet };
    });
  }

  /**
   * Removes an empty pool. Idempotent: an unknown pool is success (dockerd replays releases after a
   * restart). Throws PoolInUseError when addresses are still held (for a cluster pool: endpoint addresses
   * held by this host). A cluster pool is left; it goes from etcd with its last host.
   */
  async releasePool(id: string): Promise<void> {
    const space = this.#pools.get(id)?.record.space;
    if (space === undefined) {
      this.#opts.log.info('release of unknown pool ignored', { poolId: id });
      return;
    }
    await this.#mutex.run(`space:${space}`, () =>
      this.#mutex.run(`pool:${id}`, async () => {
        const live = this.#pools.get(id);
        if (!live) return;
        let held: string[] = [];
        if (live.cluster) held = await this.#clusterPools().own(live);
        else if (live.pool.usage().used > 0n) held = (await this.#heldRecords(live.record)).map((a) => a.address);
        if (held.length > 0) {
          const shown = held.slice(0, 5).join(', ') + (held.length > 5 ? ', …' : '');
          const where = live.cluster ? ' on this host' : '';
          throw new PoolInUseError(`pool ${id} still has ${held.length} allocated address${held.length === 1 ? '' : 'es'}${where} (${shown}); release them first`);
        }
        await this.#backend(live.record).deletePool(id, []);
        this.#pools.delete(id);
        this.#opts.log.info('pool released', { poolId: id });
      }),
    );
  }

  /**
   * Holds an address and returns it with the subnet's prefix length: the requested one (anywhere in the
   * subnet), else for a gateway the lowest free address of the range, else the next free one (serial
   * unless the pool says `serial=false`). Resolves only once the allocation is durable. Throws
   * NotFoundError (unknown pool), InvalidRequestError (outside the pool, reserved, wrong family),
   * AddressInUseError, PoolExhaustedError. In a cluster pool an address another host holds is skipped
   * (next free) or refused naming the host (a specific one), and a gateway or aux address another host
   * claimed is this host's too.
   */
  async requestAddress(req: AddressRequest): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      const { pool, addr, claim, fresh, cursor } = await this.#mutex.run(`pool:${req.poolId}`, async () => this.#pick(req));
      const text = formatIp(pool.family, addr);
      const answer = `${text}/${pool.spec.subnet.len}`;
      if (!claim) return answer;
      let holder: AddressRecord | undefined;
      try {
        holder = await claim.written;
      } catch (err) {
        if (fresh) pool.unclaim(addr, cursor); // not acknowledged to anyone, so nobody else can hold it
        throw err;
      }
      const view = this.#pools.get(req.poolId)?.cluster;
      view?.note(holder ?? claim.rec);
      if (!holder || (view && sharedAlike(holder, claim.rec))) return answer;
      // Another host holds it: it stays marked held here, and we try again.
      if (req.address !== '') throw new AddressInUseError(`address ${text} in pool ${req.poolId}: Address already in use (held by host ${holder.host})`);
      if (attempt >= CLAIM_ATTEMPTS) throw new PoolExhaustedError(`pool ${req.poolId}: no available addresses on this pool (${attempt} taken by other hosts)`);
    }
  }

  /** Picks and holds an address in memory and starts its durable write. Runs under the pool lock. */
  async #pick(req: AddressRequest): Promise<Pick> {
    const live = this.#pools.get(req.poolId);
    if (!live) throw new NotFoundError(`pool ${req.poolId} not found: unknown pool ID`);
    if (live.cluster) return this.#clusterPools().pick(live, req);
    const { pool, record } = live;
    const before = pool.cursor;
    const gateway = isGatewayRequest(req);
    let addr: bigint;
    if (req.address !== '') {
      const ip = parseIp(req.address)!;
      pool.claim(ip.family, ip.addr);
      addr = ip.addr;
    } else {
      addr = pool.claimNext(nextMode(req, record.options));
    }
    const rec = addressRecord(req, formatIp(pool.family, addr), gateway, this.#now());
    const cursor = req.address === '' && !gateway && pool.cursor === addr ? rec.address : undefined;
    const written = this.#opts.persistence.claimAddress(rec, cursor);
    written.catch(() => undefined); // handled by the caller right after the lock is released
    return { pool, addr, claim: { rec, written }, fresh: true, cursor: before };
  }

  /**
   * Frees an address durably. Idempotent: an unknown pool or an address not held is success (replays).
   * Throws InvalidRequestError for an address outside the pool's subnet.
   */
  async releaseAddress(poolId: string, address: string): Promise<void> {
    await this.#mutex.run(`pool:${poolId}`, async () => {
      const live = this.#pools.get(poolId);
      if (!live) {
        this.#opts.log.info('release in unknown pool ignored', { poolId, address });
        return;
      }
      const ip = parseIp(address)!;
      const { subnet } = live.pool.spec;
      if (ip.family !== subnet.family || ip.addr < subnet.first || ip.addr > subnet.last) {
        throw new InvalidRequestError(`address ${address} is not in pool ${poolId} (subnet ${live.record.pool})`);
      }
      if (live.cluster) return this.#clusterPools().release(live, ip.addr);
      if (!live.pool.has(ip.addr)) return;
      await this.#opts.persistence.releaseAddresses(poolId, [formatIp(ip.family, ip.addr)]);
      live.pool.release(ip.addr);
    });
  }

  /** Every pool with its counts, ordered by space, family and subnet. */
  list(): PoolSummary[] {
    return [...this.#pools.values()]
      .sort((a, b) => compare(a.record.space, b.record.space) || a.pool.family - b.pool.family || compare(a.pool.spec.subnet.first, b.pool.spec.subnet.first))
      .map(({ record, pool }) => ({
        record,
        ...pool.usage(),
        ...(pool.cursor !== undefined && { cursor: formatIp(pool.family, pool.cursor) }),
      }));
  }

  /**
   * One pool and its held addresses (ascending), found by pool ID or by subnet CIDR. Throws NotFoundError,
   * or InvalidRequestError when a subnet matches pools of several spaces.
   */
  async inspect(idOrSubnet: string): Promise<{ summary: PoolSummary; addresses: AddressRecord[] }> {
    const live = this.#find(idOrSubnet);
    const summary = this.list().find((s) => s.record.id === live.record.id)!;
    return { summary, addresses: await this.#heldRecords(live.record) };
  }

  /** The stored records of a pool's held addresses (a cluster pool's as etcd has them now), in address order. */
  async #heldRecords(record: PoolRecord): Promise<AddressRecord[]> {
    const key = (a: AddressRecord) => parseIp(a.address)?.addr ?? 0n;
    return (await this.#backend(record).addresses(record.id)).sort((a, b) => compare(key(a), key(b)));
  }

  /** Where a pool's records live. Throws InvalidRequestError for a cluster pool without a cluster store. */
  #backend(record: PoolRecord): PoolPersistence {
    return isClusterPool(record) ? this.#clusterPools().persistence : this.#opts.persistence;
  }

  #clusterPools(): ClusterPools {
    if (!this.#cluster) throw new InvalidRequestError(`ipam option ${OPTION.cluster}=true needs tsnet serve --cluster-store etcd://…`);
    return this.#cluster;
  }

  #find(idOrSubnet: string): LivePool {
    const byId = this.#pools.get(idOrSubnet);
    if (byId) return byId;
    const subnet = parsePrefix(idOrSubnet);
    const matches = subnet ? [...this.#pools.values()].filter((p) => p.record.pool === formatPrefix(subnet)) : [];
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1) {
      throw new InvalidRequestError(`subnet ${idOrSubnet} matches pools ${matches.map((m) => m.record.id).join(', ')}; give a pool ID`);
    }
    throw new NotFoundError(`pool ${idOrSubnet} not found: give a pool ID or subnet from \`tsnet ipam ls\``);
  }

  /**
   * Releases (or with `dryRun` only reports) what {@link garbageOf} finds in each pool: addresses and
   * pools held before `before` that Docker, as `known`, does not use. In a cluster pool that is this
   * host's endpoint addresses (and its use of the pool), plus the endpoint addresses of hosts whose hold
   * expired.
   */
  async collect(known: KnownUse, before: Date, dryRun: boolean): Promise<GcItem[]> {
    const sets = knownSets(known);
    const cutoff = before.toISOString();
    const items: GcItem[] = [];
    for (const live of [...this.#pools.values()]) {
      const { record } = live;
      if (live.cluster) {
        items.push(...(await this.#collectCluster(live, sets, cutoff, dryRun)));
        continue;
      }
      const found = garbageOf(record, await this.#heldRecords(record), sets, cutoff);
      const stale = found.flatMap((i) => (i.address === undefined ? [] : [i.address]));
      if (!dryRun && found.length > 0) await this.#drop(record, stale, found.length > stale.length);
      items.push(...found);
    }
    return items;
  }

  /** {@link collect} for one cluster pool. */
  async #collectCluster(live: LivePool, sets: KnownSets, cutoff: string, dryRun: boolean): Promise<GcItem[]> {
    const cluster = this.#clusterPools();
    const { id } = live.record;
    const mine = (await cluster.persistence.addresses(id)).filter((r) => r.kind === 'endpoint' && r.host === cluster.persistence.hostId);
    const found = garbageOf(live.record, mine, sets, cutoff);
    const gone = await cluster.persistence.reclaim(id, dryRun);
    if (!dryRun) {
      for (const item of found) if (item.address !== undefined) await this.releaseAddress(id, item.address);
      if (found.some((i) => i.address === undefined)) await this.releasePool(id);
      else if (gone.length > 0) await this.#mutex.run(`pool:${id}`, () => cluster.sync(live));
    }
    return [...found, ...gone.map((r) => ({ poolId: id, address: r.address, reason: `held by host ${r.host}, whose hold expired` }))];
  }

  /** Releases `stale` addresses of a local pool (and the pool itself when `withPool` and it is then empty). */
  async #drop(record: PoolRecord, stale: readonly string[], withPool: boolean): Promise<void> {
    await this.#mutex.run(`space:${record.space}`, () =>
      this.#mutex.run(`pool:${record.id}`, async () => {
        const live = this.#pools.get(record.id);
        if (!live) return;
        const parsed = stale.map((a) => parseIp(a)!.addr).filter((a) => live.pool.has(a));
        const texts = parsed.map((a) => formatIp(live.pool.family, a));
        const empty = live.pool.usage().used === BigInt(parsed.length);
        if (withPool && empty) await this.#opts.persistence.deletePool(record.id, texts);
        else await this.#opts.persistence.releaseAddresses(record.id, texts);
        for (const a of parsed) live.pool.release(a);
        if (withPool && empty) this.#pools.delete(record.id);
        this.#opts.log.info('garbage collected', { poolId: record.id, addresses: texts.length, pool: withPool && empty });
      }),
    );
  }
}
