/**
 * @module Pure prefix maths: a CIDR as the inclusive range of bigints it covers, so that
 * containment, overlap and splitting are plain comparisons for IPv4 and IPv6 alike. No I/O.
 */
import { ADDRESS_BITS, formatIp, parseCidr, type Cidr, type Family } from './parse.js';

/** A prefix with host bits cleared: every address from `first` to `last`, both inclusive. */
export interface Prefix {
  family: Family;
  first: bigint;
  last: bigint;
  len: number;
}

/** Number of addresses in a prefix of `len` bits of `family` (`/24` → 256). */
export function blockSize(family: Family, len: number): bigint {
  return 1n << BigInt(ADDRESS_BITS[family] - len);
}

/** The prefix of `len` bits containing `addr` (host bits are cleared). */
export function prefixOf(family: Family, addr: bigint, len: number): Prefix {
  const size = blockSize(family, len);
  const first = addr - (addr % size);
  return { family, first, last: first + size - 1n, len };
}

/** The prefix a parsed CIDR stands for (host bits cleared). */
export function prefixOfCidr(c: Cidr): Prefix {
  return prefixOf(c.family, c.addr, c.prefixLen);
}

/**
 * Parses `addr/len` into a {@link Prefix}, or returns undefined when it is not a CIDR. With
 * `strict`, a CIDR whose host bits are set (`10.20.0.5/24`) also gives undefined.
 */
export function parsePrefix(text: string, strict = false): Prefix | undefined {
  const c = parseCidr(text);
  if (!c) return undefined;
  const p = prefixOfCidr(c);
  return strict && p.first !== c.addr ? undefined : p;
}

/** `10.20.0.0/24`, `fd00::/64`: canonical text of a prefix. */
export function formatPrefix(p: Prefix): string {
  return `${formatIp(p.family, p.first)}/${p.len}`;
}

/** Number of addresses in `p`. */
export function prefixSize(p: Prefix): bigint {
  return p.last - p.first + 1n;
}

/** Whether `a` and `b` share an address; never across families. */
export function overlaps(a: Prefix, b: Prefix): boolean {
  return a.family === b.family && a.first <= b.last && b.first <= a.last;
}

/** Whether every address of `inner` is in `outer`. */
export function containsPrefix(outer: Prefix, inner: Prefix): boolean {
  return outer.family === inner.family && outer.first <= inner.first && inner.last <= outer.last;
}

/** Whether `addr` of `family` is in `p`. */
export function containsAddress(p: Prefix, family: Family, addr: bigint): boolean {
  return p.family === family && p.first <= addr && addr <= p.last;
}
