/**
 * @module Pure parsing and formatting of IP addresses, CIDR prefixes and MAC addresses. No I/O.
 * Addresses are bigints so IPv4 and IPv6 share one arithmetic.
 */
import { isIP } from 'node:net';

export type Family = 4 | 6;

/** Bits in an address of each family. */
export const ADDRESS_BITS: Readonly<Record<Family, number>> = { 4: 32, 6: 128 };

export interface Cidr {
  family: Family;
  /** The address as written (host bits may be set, e.g. a gateway `10.0.0.1/24`). */
  addr: bigint;
  prefixLen: number;
}

/** Whether `s` is a plain IPv4 or IPv6 address (no prefix, no zone). */
export function isIp(s: string): boolean {
  return parseIp(s) !== undefined;
}

/** Parses a plain IP address to its family and bigint value, or returns undefined. */
export function parseIp(s: string): { family: Family; addr: bigint } | undefined {
  const family = s.includes('%') ? 0 : isIP(s); // node accepts zones (fe80::1%eth0); Docker never sends them
  if (family === 4) {
    return { family, addr: s.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n) };
  }
  if (family === 6) return { family, addr: parseIpv6(s) };
  return undefined;
}

function parseIpv6(s: string): bigint {
  let text = s;
  // An embedded IPv4 tail (::ffff:10.0.0.1) becomes two hex groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1]) {
    const n = parseIp(v4[1])!.addr;
    text = text.slice(0, -v4[1].length) + `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? 0 : 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...Array<string>(zeros).fill('0'), ...tailGroups];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** Parses `addr/len`; returns undefined for anything else (a missing length, a length out of range). */
export function parseCidr(s: string): Cidr | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp(s.slice(0, slash));
  const lenText = s.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(lenText)) return undefined;
  const prefixLen = Number(lenText);
  if (prefixLen > ADDRESS_BITS[ip.family]) return undefined;
  return { family: ip.family, addr: ip.addr, prefixLen };
}

/** Parses `addr/len`, or a bare address as its host prefix (/32, /128); undefined for anything else. */
export function parseCidrOrHost(s: string): Cidr | undefined {
  if (s.includes('/')) return parseCidr(s);
  const ip = parseIp(s);
  return ip && { ...ip, prefixLen: ADDRESS_BITS[ip.family] };
}

/**
 * The host prefix of a plain address, as text: `10.0.0.1` → `10.0.0.1/32`, `fd00::1` → `fd00::1/128`.
 * @throws RangeError when `ip` is not a plain address.
 */
export function hostCidr(ip: string): string {
  const parsed = parseIp(ip);
  if (!parsed) throw new RangeError(`"${ip}" is not an IP address`);
  return `${ip}/${ADDRESS_BITS[parsed.family]}`;
}

/** The address in network byte order: 4 bytes for IPv4, 16 for IPv6. */
export function ipToBytes(family: Family, addr: bigint): Buffer {
  if (family === 4) {
    const bytes = Buffer.alloc(4);
    bytes.writeUInt32BE(Number(addr));
    return bytes;
  }
  const bytes = Buffer.alloc(16);
  bytes.writeBigUInt64BE(addr >> 64n);
  bytes.writeBigUInt64BE(BigInt.asUintN(64, addr), 8);
  return bytes;
}

/** The family and value of a 4- or 16-byte address in network byte order. */
export function ipFromBytes(bytes: Uint8Array): { family: Family; addr: bigint } {
  if (bytes.length !== 4 && bytes.length !== 16) throw new RangeError(`an IP address has 4 or 16 bytes, not ${bytes.length}`);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (buf.length === 4) return { family: 4, addr: BigInt(buf.readUInt32BE()) };
  return { family: 6, addr: (buf.readBigUInt64BE() << 64n) | buf.readBigUInt64BE(8) };
}

/** Formats a bigint address of the given family in canonical text (RFC 5952 for IPv6). */
export function formatIp(family: Family, addr: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((addr >> s) & 0xffn)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => Number((addr >> BigInt(112 - 16 * i)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) [bestStart, bestLen] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/** Whether `s` is a 48-bit MAC written as six colon-separated hex pairs. */
export function isMac(s: string): boolean {
  return MAC.test(s);
}
