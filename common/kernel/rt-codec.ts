/**
 * @module Wire forms for the kernel layer: IP addresses and MACs to and from the bytes netlink carries,
 * and canonical text so that both back ends report the same strings. Pure, no I/O.
 * (Parsing, formatting and subnet maths are `common/addr`'s; this only converts to and from bytes.)
 */
import { formatIp as formatAddr, ipFromBytes, ipToBytes, isMac, parseCidrOrHost, parseIp as parseAddr } from '../addr/parse.js';
import { Errno } from './rt-errors.js';

export interface IpBytes {
  family: 4 | 6;
  bytes: Buffer;
}

export interface Cidr extends IpBytes {
  prefixLength: number;
}

/** The family and value of an address; {@link Errno} `EINVAL` if malformed. */
function addressOf(text: string): { family: 4 | 6; addr: bigint } {
  const ip = parseAddr(text);
  if (!ip) throw new Errno('EINVAL', `"${text}" is not an IP address`);
  return ip;
}

/** Parses an IPv4 or IPv6 address (dotted or colon text) into its bytes; {@link Errno} `EINVAL` if malformed. */
export function parseIp(text: string): IpBytes {
  const ip = addressOf(text);
  return { family: ip.family, bytes: ipToBytes(ip.family, ip.addr) };
}

/** Canonical text of a 4- or 16-byte address (RFC 5952 for IPv6: lower case, longest zero run as `::`). */
export function formatIp(bytes: Uint8Array): string {
  const ip = ipFromBytes(bytes);
  return formatAddr(ip.family, ip.addr);
}

/** Rewrites an address in canonical form (`fd00:0::1` → `fd00::1`). */
export function canonicalIp(text: string): string {
  const ip = addressOf(text);
  return formatAddr(ip.family, ip.addr);
}

/** Parses `addr/len`; a bare address means a host prefix (/32, /128). */
export function parseCidr(text: string): Cidr {
  const cidr = parseCidrOrHost(text);
  if (!cidr) {
    addressOf(text.split('/')[0] ?? ''); // the address is what is wrong: say so
    throw new Errno('EINVAL', `"${text}" has no valid prefix length`);
  }
  return { family: cidr.family, bytes: ipToBytes(cidr.family, cidr.addr), prefixLength: cidr.prefixLen };
}

/** Canonical `addr/len` text. */
export function formatCidr(c: { bytes: Uint8Array; prefixLength: number }): string {
  return `${formatIp(c.bytes)}/${c.prefixLength}`;
}

/** Parses `aa:bb:cc:dd:ee:ff` into 6 bytes; {@link Errno} `EINVAL` if malformed. */
export function parseMac(text: string): Buffer {
  if (!isMac(text)) throw new Errno('EINVAL', `"${text}" is not a MAC address`);
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
