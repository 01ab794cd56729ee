/**
 * @module The allocator's steps for cluster pools, over {@link ClusterPersistence} and each pool's
 * {@link ClusterView}. The allocator calls them under the same per-pool lock as for local pools.
 *
 * - Next free: the next free address of the local view (serial or lowest, as for local pools), claimed
 *   in etcd by one transaction; when another host holds it, it stays marked held here and the allocator
 *   tries the next. Only when the local view is full is the pool read again from etcd, after reclaiming
 *   the endpoint addresses of hosts whose hold key is gone.
 * - Gateway and aux addresses are shared: the first host's claim holds them for every host of the pool,
 *   later requests for the same address and kind succeed without a write, a gateway request without an
 *   address gets the pool's gateway, and releases leave them (they go with the pool).
 * - Endpoint addresses are released only by the host that holds them.
 */
import { formatIp, parseIp } from '../../common/addr/parse.js';
import type { Logger } from '../../common/log.js';
import { ConflictError } from '../../common/protocol/errors.js';
import { AddressPool, type NextMode } from '../core/address-pool.js';
import type { LivePool } from '../core/allocator.js';
import type { ClusterPersistence } from './cluster-persistence.js';
import { AddressInUseError, PoolExhaustedError } from '../errors.js';
import type { AddressRecord } from '../core/persistence.js';
import { containsAddress } from '../../common/addr/prefix.js';
import { addressRecord, isGatewayRequest, nextMode, type AddressRequest } from '../core/requests.js';

/** An address picked under the pool lock, and its claim (absent when the request is already satisfied). */
export interface Pick {
  /** The pool object the address was marked in (a later read from etcd replaces `live.pool`). */
  pool: AddressPool;
  addr: bigint;
  /** The record written and its claim: undefined once claimed, else the holder's record. */
  claim?: { rec: AddressRecord; written: Promise<AddressRecord | undefined> };
  /** Whether the address was free in `pool` before the pick (a failed claim frees it again). */
  fresh: boolean;
  /** The pool's serial position before the pick (a failed claim puts it back). */
  cursor: bigint | undefined;
}

/** The cluster half of the allocator; see the module comment. */
export class ClusterPools {
  readonly persistence: ClusterPersistence;
  readonly #log: Logger;
  readonly #now: () => Date;

  constructor(persistence: ClusterPersistence, log: Logger, now: () => Date) {
    this.persistence = persistence;
    this.#log = log;
    this.#now = now;
  }

  /**
   * Re-reads the pool's addresses from etcd into a fresh view (after the claims in flight settle), joining
   * the pool again if it went from etcd meanwhile. Under the pool lock.
   */
  async sync(live: LivePool): Promise<void> {
    const view = live.cluster!;
    await view.settled();
    const records = await this.persistence.read(live.record);
    const pool = new AddressPool(live.pool.spec, live.pool.cursor);
    for (const r of records) {
      const ip = parseIp(r.address);
      if (ip && containsAddress(pool.spec.subnet, ip.family, ip.addr)) pool.restore(ip.addr);
    }
    live.pool = pool;
    view.reset(records);
    this.#log.debug('cluster pool read', { poolId: live.record.id, held: records.length, mine: view.mine.size });
  }

  /** Picks an address for `req` and starts its claim. Under the pool lock. */
  async pick(live: LivePool, req: AddressRequest): Promise<Pick> {
    const view = live.cluster!;
    if (!view.synced) await this.sync(live);
    const cursor = live.pool.cursor;
    const gateway = isGatewayRequest(req);
    const poolGateway = view.gateway();
    let addr: bigint;
    let fresh = true;
    if (req.address !== '') {
      const ip = parseIp(req.address)!;
      live.pool.check(ip.family, ip.addr);
      addr = ip.addr;
      const text = formatIp(ip.family, addr);
      if (view.mine.has(text)) throw new AddressInUseError(`address ${text} in pool ${req.poolId}: Address already in use (by this host)`);
      if (view.shared.get(text)?.kind === addressRecord(req, text, gateway, this.#now()).kind) return { pool: live.pool, addr, fresh: false, cursor };
      if (gateway && poolGateway) {
        throw new ConflictError(
          `cluster pool ${req.poolId} already has gateway ${poolGateway.address} (claimed by host ${poolGateway.host}); give every host the same --gateway`,
        );
      }
      fresh = !live.pool.has(addr);
      live.pool.restore(addr);
    } else if (gateway && poolGateway) {
      return { pool: live.pool, addr: parseIp(poolGateway.address)!.addr, fresh: false, cursor };
    } else {
      addr = await this.#next(live, nextMode(req, live.record.options));
    }
    const rec = { ...addressRecord(req, formatIp(live.pool.family, addr), gateway, this.#now()), host: view.hostId };
    const written = this.persistence.claimAddress(rec);
    view.track(written);
    return { pool: live.pool, addr, claim: { rec, written }, fresh, cursor };
  }

  /** The next free address of the view; when it looks full, reclaims gone hosts' addresses, re-reads, and tries once more. */
  async #next(live: LivePool, mode: NextMode): Promise<bigint> {
    try {
      return live.pool.claimNext(mode);
    } catch (err) {
      if (!(err instanceof PoolExhaustedError)) throw err;
    }
    await this.persistence.reclaim(live.record.id, false);
    await this.sync(live);
    return live.pool.claimNext(mode);
  }

  /** Releases `address` if this host holds it as an endpoint; shared and other hosts' addresses stay. Under the pool lock. */
  async release(live: LivePool, address: bigint): Promise<void> {
    const view = live.cluster!;
    if (!view.synced) await this.sync(live);
    const text = formatIp(live.pool.family, address);
    if (view.shared.has(text)) {
      this.#log.info('shared address of a cluster pool kept until the pool is deleted', { poolId: live.record.id, address: text });
      return;
    }
    if (!view.mine.has(text)) return;
    await this.persistence.releaseAddresses(live.record.id, [text]);
    view.mine.delete(text);
    live.pool.release(address);
  }

  /** The endpoint addresses this host holds in the pool. Under the pool lock. */
  async own(live: LivePool): Promise<string[]> {
    if (!live.cluster!.synced) await this.sync(live);
    return [...live.cluster!.mine];
  }
}
