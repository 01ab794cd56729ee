/**
 * @module Default pools for automatic subnets, and the search for a free one. A default pool is a base
 * prefix split into subnets of one size, written `BASE:SIZE` (`10.128.0.0/9:24`, as dockerd's
 * `default-address-pools` base/size). Pure: the caller supplies what is blocked (pools of the space and
 * host routes read at that moment).
 */
import { createHash } from 'node:crypto';
import { ADDRESS_BITS, type Family } from '../../common/addr/parse.js';
import { InvalidRequestError } from '../../common/protocol/errors.js';
import { blockSize, formatPrefix, parsePrefix, prefixOf, type Prefix } from '../../common/addr/prefix.js';

/** A base prefix split into subnets of `size` bits. */
export interface DefaultPool {
  base: Prefix;
  size: number;
}

/** Docker's local default pools (`ipamutils/utils.go`): 172.17-172.31 as /16s, then 192.168.0.0/16 as /20s. */
export const DOCKER_LOCAL_POOLS = [
  '172.17.0.0/16:16',
  '172.18.0.0/16:16',
  '172.19.0.0/16:16',
  '172.20.0.0/14:16',
  '172.24.0.0/14:16',
  '172.28.0.0/14:16',
  '192.168.0.0/16:20',
];

/** Docker's global (swarm) default pool: 10.0.0.0/8 as /24s. */
export const DOCKER_GLOBAL_POOLS = ['10.0.0.0/8:24'];

/** The token that stands for Docker's defaults of the space inside a configured list. */
export const DOCKER_TOKEN = 'docker';

/** Parses `BASE:SIZE`; throws InvalidRequestError naming the entry and the expected form. */
export function parseDefaultPool(text: string): DefaultPool {
  const colon = text.lastIndexOf(':');
  const base = colon > 0 ? parsePrefix(text.slice(0, colon), true) : undefined;
  const sizeText = text.slice(colon + 1);
  const size = /^\d{1,3}$/.test(sizeText) ? Number(sizeText) : NaN;
  if (!base || !(size >= base.len && size <= ADDRESS_BITS[base.family])) {
    throw new InvalidRequestError(
      `default pool "${text}" must be BASE/LEN:SIZE with host bits of BASE clear and LEN <= SIZE <= address bits, e.g. 10.128.0.0/9:24 or fd00::/8:64`,
    );
  }
  return { base, size };
}

/**
 * Docker's IPv6 default (Engine 27+): a ULA /48 whose 40-bit Global ID is a hash of a host identity
 * (dockerd uses its engine ID; we take /etc/machine-id), split into /64s.
 */
export function ulaDefaultPool(hostIdentity: string): DefaultPool {
  const globalId = BigInt(`0x${createHash('sha256').update(hostIdentity).digest('hex').slice(0, 10)}`);
  const first = (0xfdn << 120n) | (globalId << 80n);
  return { base: prefixOf(6, first, 48), size: 64 };
}

/**
 * Expands a configured list (`BASE:SIZE` entries and the {@link DOCKER_TOKEN}) into default pools.
 * A family with no entry at all falls back to `docker`'s pools of that family, so configuring IPv4 pools
 * alone keeps Docker's IPv6 default.
 */
export function resolveDefaultPools(entries: readonly string[], docker: readonly DefaultPool[]): DefaultPool[] {
  const out = entries.flatMap((e) => (e === DOCKER_TOKEN ? [...docker] : [parseDefaultPool(e)]));
  for (const family of [4, 6] as const) {
    if (!out.some((p) => p.base.family === family)) out.push(...docker.filter((p) => p.base.family === family));
  }
  return out;
}

/** Text of a default pool, as it is configured. */
export function formatDefaultPool(p: DefaultPool): string {
  return `${formatPrefix(p.base)}:${p.size}`;
}

/**
 * The first subnet, in list order, of the `family` pools split into `len`-bit subnets (each pool's own
 * size when `len` is undefined) that overlaps none of `blocked`. Blocked ranges are jumped over rather
 * than tested subnet by subnet, so the cost is O(pools x blocked²) however large the pools are.
 */
export function findFreeSubnet(pools: readonly DefaultPool[], family: Family, len: number | undefined, blocked: readonly Prefix[]): Prefix | undefined {
  const sameFamily = blocked.filter((b) => b.family === family);
  for (const pool of pools) {
    const size = len ?? pool.size;
    if (pool.base.family !== family || size < pool.base.len || size > ADDRESS_BITS[family]) continue;
    const step = blockSize(family, size);
    let at = pool.base.first;
    while (at <= pool.base.last) {
      const candidate = prefixOf(family, at, size);
      let end: bigint | undefined;
      for (const b of sameFamily) {
        if (b.first <= candidate.last && candidate.first <= b.last && (end === undefined || b.last > end)) end = b.last;
      }
      if (end === undefined) return candidate;
      at = ((end + step) / step) * step; // the first subnet boundary after the blocker
    }
  }
  return undefined;
}
