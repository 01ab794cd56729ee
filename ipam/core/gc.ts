/**
 * @module Garbage collection for `tsnet ipam gc`, pure: given what Docker knows (read by the CLI with
 * `docker network inspect`, outside any plugin request) and a cut-off time, which held addresses and
 * which pools nobody uses any more. The allocator applies the result under its locks.
 */
import { formatIp, parseIp } from '../../common/addr/parse.js';
import type { AddressRecord, PoolRecord } from './persistence.js';
import { formatPrefix, parsePrefix } from '../../common/addr/prefix.js';

/** What a garbage collection run removes (or would remove, dry-run). */
export interface GcItem {
  poolId: string;
  /** The address released; absent for the release of the (then empty) pool itself. */
  address?: string;
  reason: string;
}

/** Docker's view of what is in use, gathered by the CLI outside any plugin request. */
export interface KnownUse {
  /** Subnets of every network Docker knows. */
  subnets: readonly string[];
  /** Gateways, aux addresses and endpoint addresses Docker knows. */
  addresses: readonly string[];
}

/** {@link KnownUse} in canonical text, for lookups. */
export interface KnownSets {
  subnets: Set<string>;
  addresses: Set<string>;
}

/** Canonicalises Docker's view (`fd00:0::1` and `fd00::1` are one address); unparsable entries are dropped. */
export function knownSets(known: KnownUse): KnownSets {
  return {
    subnets: new Set(known.subnets.map((s) => parsePrefix(s)).flatMap((p) => (p ? [formatPrefix(p)] : []))),
    addresses: new Set(known.addresses.map((a) => parseIp(a)).flatMap((ip) => (ip ? [formatIp(ip.family, ip.addr)] : []))),
  };
}

/**
 * The one rule of every release (here and in serve's agreement with Docker, docker-sync/decide.ts):
 * something the reference (Docker, engine-lite) does not know, held since before `cutoff` (ISO time).
 * Anything newer may belong to a create still in flight that the reference has not recorded yet.
 */
export function isGarbage(since: string, known: boolean, cutoff: string): boolean {
  return !known && since < cutoff;
}

/**
 * What of one pool is garbage, among what was held before `cutoff` (ISO time). A pool whose subnet Docker
 * knows keeps its gateway (a network always holds it, even where `docker network inspect` omits it) and
 * loses only unknown endpoint and aux addresses; a pool Docker does not know loses every address, and
 * itself when nothing newer is held. Nothing held since `cutoff` is touched, so an allocation racing the
 * CLI's read of Docker survives.
 */
export function garbageOf(pool: PoolRecord, held: readonly AddressRecord[], known: KnownSets, cutoff: string): GcItem[] {
  if (pool.createdAt >= cutoff) return [];
  const poolKnown = known.subnets.has(pool.pool);
  const reason = poolKnown ? 'address unknown to docker' : 'pool unknown to docker';
  const stale = held.filter((a) => isGarbage(a.at, poolKnown && (a.kind === 'gateway' || known.addresses.has(a.address)), cutoff));
  const items: GcItem[] = stale.map((a) => ({ poolId: pool.id, address: a.address, reason }));
  if (!poolKnown && stale.length === held.length) items.push({ poolId: pool.id, reason });
  return items;
}
