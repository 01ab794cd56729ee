/**
 * @module The tsipam allocator: address spaces, pools and addresses, as plain logic over an injected
 * {@link IpamPersistence} (local LevelDB now, etcd for cluster pools later) and an injected reader of
 * host routes. It knows nothing of HTTP or Docker's wire names (driver.ts maps those).
 *
 * Locking: a KeyedMutex serialises per address space (`space:<name>`: RequestPool, ReleasePool) and per
 * pool (`pool:<id>`: addresses); ReleasePool takes space then pool, and nothing takes them the other way
 * round. An allocation holds the pool lock only while it picks the address in memory and queues its
 * write; it then waits, unlocked, for the write to be durable before answering, so concurrent
 * allocations share one fsync (group commit) yet never share an address.
 */
import { formatIp, parseIp, type Family } from '../common/addr/parse.js';
import { KeyedMutex } from '../common/keyed-mutex.js';
import type { Logger } from '../common/log.js';
import { InvalidRequestError, NotFoundError } from '../common/protocol/errors.js';
import { AddressPool, type PoolUsage } from './address-pool.js';
import { findFreeSubnet, type DefaultPool } from './default-pools.js';
import { AddressInUseError, PoolExhaustedError, PoolInUseError, PoolOverlapError } from './errors.js';
import { RECORD_VERSION, type AddressRecord, type IpamPersistence, type PoolRecord } from './persistence.js';
import { garbageOf, knownSets, type GcItem, type KnownUse } from './gc.js';
import { containsAddress, formatPrefix, overlaps, parsePrefix, type Prefix } from './prefix.js';
import { addressRecord, OPTION, planPool, type AddressRequest, type AddressSpace, type PoolRequest } from './requests.js';

/** What the allocator is built from. */
export interface AllocatorOptions {
  persistence: IpamPersistence;
  /** Default pools (both families) of each space, in the order they are tried. */
  defaultPools: Record<AddressSpace, readonly DefaultPool[]>;
  /** Prefixes of the host's routes of `family`, read at the moment of each automatic pool request. */
  hostRoutes(family: Family): Promise<Prefix[]>;
  log: Logger;
  now?: () => Date;
}

/** One pool for `tsnet ipam ls`. */
export interface PoolSummary extends PoolUsage {
  record: PoolRecord;
  /** Serial position, if any address was handed out by next-free. */
  cursor?: string;
}

interface LivePool {
  record: PoolRecord;
  pool: AddressPool;
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

  private constructor(opts: AllocatorOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? (() => new Date());
  }

  /** Loads every pool and held address from the persistence; records that do not parse are logged and skipped. */
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
      a.#pools.set(record.id, { record, pool: new AddressPool({ id: record.id, space: record.space, subnet, range }, cursor) });
    }
    for (const rec of snap.addresses) {
      const live = a.#pools.get(rec.poolId);
      const ip = parseIp(rec.address);
      if (live && ip && containsAddress(live.pool.spec.subnet, ip.family, ip.addr)) live.pool.restore(ip.addr);
      else opts.log.warn('skipping address record outside any known pool', { poolId: rec.poolId, address: rec.address });
    }
    opts.log.info('ipam state loaded', { pools: a.#pools.size, addresses: snap.addresses.length });
    return a;
  }

  /**
   * Creates a pool: the given subnet (and sub-pool), or a free subnet from the space's default pools that
   * overlaps no pool of the space and no host route at this moment. Throws InvalidRequestError for bad
   * input, PoolOverlapError naming the pool it overlaps, PoolExhaustedError when no default subnet is free.
   * Not idempotent on purpose: the same subnet twice is an overlap (RequiresRequestReplay is false).
   */
  async requestPool(req: PoolRequest): Promise<{ id: string; subnet: Prefix }> {
    const { space, family, subnet: given, len, range } = planPool(req);
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
      await this.#opts.persistence.createPool(record);
      this.#pools.set(id, { record, pool: new AddressPool({ id, space, subnet, range }) });
      this.#opts.log.info('pool created', { poolId: id, auto: !given });
      return { id, subnet };
    });
  }

  /**
   * Removes an empty pool. Idempotent: an unknown pool is success (dockerd replays releases after a
   * restart). Throws PoolInUseError when addresses are still held.
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
        const { used } = live.pool.usage();
        if (used > 0n) {
          const held = (await this.#heldRecords(id)).map((a) => a.address);
          const shown = held.slice(0, 5).join(', ') + (held.length > 5 ? ', …' : '');
          throw new PoolInUseError(`pool ${id} still has ${used} allocated address${used === 1n ? '' : 'es'} (${shown}); release them first`);
        }
        await this.#opts.persistence.deletePool(id, []);
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
   * AddressInUseError, PoolExhaustedError.
   */
  async requestAddress(req: AddressRequest): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      const { pool, addr, written } = await this.#mutex.run(`pool:${req.poolId}`, async () => this.#claim(req));
      const text = formatIp(pool.family, addr);
      let claimed: boolean;
      try {
        claimed = await written;
      } catch (err) {
        pool.release(addr); // not acknowledged to anyone, so nobody else can hold it
        throw err;
      }
      if (claimed) return `${text}/${pool.spec.subnet.len}`;
      // A cluster peer holds it: it stays marked held here, and we try again.
      if (req.address !== '') throw new AddressInUseError(`address ${text} in pool ${req.poolId}: Address already in use (by another host)`);
      if (attempt >= CLAIM_ATTEMPTS) throw new PoolExhaustedError(`pool ${req.poolId}: no available addresses on this pool (${attempt} taken by other hosts)`);
    }
  }

  /** Picks and holds an address in memory and queues its durable write. Runs under the pool lock. */
  #claim(req: AddressRequest): { pool: AddressPool; addr: bigint; written: Promise<boolean> } {
    const live = this.#pools.get(req.poolId);
    if (!live) throw new NotFoundError(`pool ${req.poolId} not found: unknown pool ID`);
    const { pool, record } = live;
    const gateway = req.options[OPTION.addressType] === OPTION.gatewayType;
    let addr: bigint;
    if (req.address !== '') {
      const ip = parseIp(req.address)!;
      pool.claim(ip.family, ip.addr);
      addr = ip.addr;
    } else {
      const serial = (req.options[OPTION.serial] ?? record.options[OPTION.serial] ?? 'true') === 'true';
      addr = pool.claimNext(gateway || !serial ? 'lowest' : 'serial');
    }
    const rec = addressRecord(req, formatIp(pool.family, addr), gateway, this.#now());
    const cursor = req.address === '' && !gateway && pool.cursor === addr ? rec.address : undefined;
    const written = this.#opts.persistence.claimAddress(rec, cursor);
    written.catch(() => undefined); // handled by the caller right after the lock is released
    return { pool, addr, written };
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
    return { summary, addresses: await this.#heldRecords(live.record.id) };
  }

  /** The stored records of a pool's held addresses, in address order. */
  async #heldRecords(poolId: string): Promise<AddressRecord[]> {
    const key = (a: AddressRecord) => parseIp(a.address)?.addr ?? 0n;
    return (await this.#opts.persistence.addresses(poolId)).sort((a, b) => compare(key(a), key(b)));
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
   * pools held before `before` that Docker, as `known`, does not use.
   */
  async collect(known: KnownUse, before: Date, dryRun: boolean): Promise<GcItem[]> {
    const sets = knownSets(known);
    const cutoff = before.toISOString();
    const items: GcItem[] = [];
    for (const { record } of [...this.#pools.values()]) {
      const found = garbageOf(record, await this.#heldRecords(record.id), sets, cutoff);
      const stale = found.flatMap((i) => (i.address === undefined ? [] : [i.address]));
      if (!dryRun && found.length > 0) await this.#drop(record, stale, found.length > stale.length);
      items.push(...found);
    }
    return items;
  }

  /** Releases `stale` addresses of a pool (and the pool itself when `withPool` and it is then empty). */
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
