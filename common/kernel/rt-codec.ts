/**
 * @module Wire forms for the kernel layer: IP addresses and MACs to and from the bytes netlink carries,
 * and canonical text so that both back ends report the same strings. Pure, no I/O.
 * (Subnet maths belongs to `common/addr`; this only converts.)
 */
import { isIPv4, isIPv6 } from 'node:net';
import { Errno } from './rt-errors.js';

export interface IpBytes {
  family: 4 | 6;
  bytes: Buffer;
}

export interface Cidr extends IpBytes {
  prefixLength: number;
}

/** Parses an IPv4 or IPv6 address (dotted or colon text) into its bytes; {@link Errno} `EINVAL` if malformed. */
export function parseIp(text: string): IpBytes {
  if (isIPv4(text)) return { family: 4, bytes: Buffer.from(text.split('.').map(Number)) };
  if (!isIPv6(text)) throw new Errno('EINVAL', `"${text}" is not an IP address`);
  let groups: number[] = [];
  let tail = text;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1] !== undefined) {
    const b = v4[1].split('.').map(Number);
    tail = text.slice(0, -v4[1].length) + `${(((b[0] ?? 0) << 8) | (b[1] ?? 0)).toString(16)}:${(((b[2] ?? 0) << 8) | (b[3] ?? 0)).toString(16)}`;
  }
  const [head = '', rest] = tail.split('::');
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const left = parse(head);
  const right = rest === undefined ? [] : parse(rest);
  groups = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  const bytes = Buffer.alloc(16);
  groups.forEach((g, i) => bytes.writeUInt16BE(g, i * 2));
  return { family: 6, bytes };
}

/** Canonical text of a 4- or 16-byte address (RFC 5952 for IPv6: lower case, longest zero run as `::`). */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  const buf = Buffer.from(bytes);
  const groups = Array.from({ length: 8 }, (_, i) => buf.readUInt16BE(i * 2));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** Rewrites an address in canonical form (`fd00:0::1` → `fd00::1`). */
export function canonicalIp(text: string): string {
  return formatIp(parseIp(text).bytes);
}

/** Parses `addr/len`; a bare address means a host prefix (/32, /128). */
export function parseCidr(text: string): Cidr {
  const [addr = '', len] = text.split('/');
  const ip = parseIp(addr);
  const max = ip.family === 4 ? 32 : 128;
  const prefixLength = len === undefined ? max : Number(len);
  if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > max || (len !== undefined && !/^\d+$/.test(len))) {
    throw new Errno('EINVAL', `"${text}" has no valid prefix length`);
  }
  return { ...ip, prefixLength };
}

/** Canonical `addr/len` text. */
export function formatCidr(c: { bytes: Uint8Array; prefixLength: number }): string {
  return `${formatIp(c.bytes)}/${c.prefixLength}`;
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/** Parses `aa:bb:cc:dd:ee:ff` into 6 bytes; {@link Errno} `EINVAL` if malformed. */
export function parseMac(text: string): Buffer {
  if (!MAC_RE.test(text)) throw new Errno('EINVAL', `"${text}" is not a MAC address`);
  return Buffer.from(text.split(':').map((h) => parseInt(h, 16)));
}

/** Lower-case colon text of a hardware address. */
export function formatMac(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(':');
}

/** Rewrites a MAC in lower case (what the kernel reports). */
export function canonicalMac(text: string): string {
  return formatMac(parseMac(text));
}

/** MACVLAN_MODE_* bits. */
export const MACVLAN_MODES: Readonly<Record<string, number>> = { private: 1, vepa: 2, bridge: 4, passthru: 8, source: 16 };

/** rtm_scope / ifa_scope names as `ip` prints them. */
export const SCOPE_NAMES: Readonly<Record<number, 'global' | 'site' | 'link' | 'host' | 'nowhere'>> = { 0: 'global', 200: 'site', 253: 'link', 254: 'host', 255: 'nowhere' };

/** rtm_type numbers by name, and back (RTN_*). */
export const ROUTE_TYPES = ['unspec', 'unicast', 'local', 'broadcast', 'anycast', 'multicast', 'blackhole', 'unreachable', 'prohibit', 'throw', 'nat', 'xresolve'] as const;

/** Main routing table id. */
export const RT_TABLE_MAIN = 254;
/** rtm_protocol of routes we add: RTPROT_BOOT, as `ip route add` uses. */
export const RTPROT_BOOT = 3;
