/**
 * @module Address decisions of macvlan mode, from the IPAM data Docker stored with the network: the
 * LAN router (gateway) the containers route through, the host shim's own addresses, a container's
 * MAC, and the host routes that lead to a container through the shim. Pure.
 */
import { formatIp, hostCidr, parseCidr, parseIp, type Family } from '../../../common/addr/parse.js';
import { containsAddress, formatPrefix, prefixOfCidr, type Prefix } from '../../../common/addr/prefix.js';
import { InvalidRequestError } from '../../../common/protocol/errors.js';
import type { IpamData } from '../../../common/protocol/network-api.js';
import type { EndpointRecord, NetworkRecord } from '../../records.js';
import { macFromIp } from '../shared/mac.js';
import type { MacvlanConfig } from './options.js';

/** `--aux-address` names that reserve the host shim's address in IPAM (one per family). */
const HOST_AUX_NAMES = ['host', 'host6'] as const;

/** How far below the top of the subnet a derived shim address may go to avoid the gateway and aux addresses. */
const DERIVE_TRIES = 64;

/** The plain address of a CIDR (`10.0.0.1/24` → `10.0.0.1`); `''` for `''`. */
function ipOf(cidr: string): string {
  const slash = cidr.indexOf('/');
  return slash < 0 ? cidr : cidr.slice(0, slash);
}

const familyOf = (ip: string): Family | undefined => parseIp(ip)?.family;

/** The first gateway of each family (the LAN router, as `--gateway` gave it), plain addresses. */
export function gatewaysOf(net: NetworkRecord): { v4?: string; v6?: string } {
  const out: { v4?: string; v6?: string } = {};
  const v4 = net.ipv4.find((p) => p.Gateway !== '')?.Gateway;
  const v6 = net.ipv6.find((p) => p.Gateway !== '')?.Gateway;
  if (v4) out.v4 = ipOf(v4);
  if (v6) out.v6 = ipOf(v6);
  return out;
}

/** The endpoint's addresses (IPv4 first), plain. */
export function endpointIps(ep: Pick<EndpointRecord, 'address' | 'addressIpv6'>): string[] {
  return [ep.address, ep.addressIpv6].filter((c) => c !== '').map(ipOf);
}

/** A host route (`/32` or `/128`) to one address. */
export function hostRoute(ip: string): string {
  return hostCidr(ip);
}

/**
 * The MAC a container gets when Docker gave none: derived from its IPv4 address (IPv6 for an
 * IPv6-only endpoint) as Docker's bridge does, so the same IP always has the same MAC on the LAN.
 * `undefined` for an endpoint without addresses.
 */
export function macFromAddress(ep: Pick<EndpointRecord, 'address' | 'addressIpv6'>): string | undefined {
  const ip = endpointIps(ep)[0];
  return ip === undefined ? undefined : macFromIp(ip);
}

const poolsOf = (net: NetworkRecord, family: Family): IpamData[] => (family === 4 ? net.ipv4 : net.ipv6);
const prefixOfPool = (p: IpamData): Prefix => prefixOfCidr(parseCidr(p.Pool)!);

/** Addresses of `pools` no one else may take: gateways and aux addresses, as bigints. */
function reserved(pools: IpamData[]): Set<bigint> {
  const cidrs = pools.flatMap((p) => [p.Gateway, ...Object.values(p.AuxAddresses)]).filter((c) => c !== '');
  return new Set(cidrs.map((c) => parseCidr(c)!.addr));
}

function checkExplicit(ip: string, pools: IpamData[]): string {
  const addr = parseIp(ip)!;
  const pool = pools.map(prefixOfPool).find((p) => containsAddress(p, addr.family, addr.addr));
  if (!pool) throw new InvalidRequestError(`host_address ${ip} is in no subnet of this network (${pools.map((p) => p.Pool).join(', ')})`);
  if (addr.addr === pool.first || (addr.family === 4 && addr.addr === pool.last)) {
    throw new InvalidRequestError(`host_address ${ip} is the network or broadcast address of ${formatPrefix(pool)}`);
  }
  if (pools.some((p) => p.Gateway !== '' && ipOf(p.Gateway) === ip)) {
    throw new InvalidRequestError(`host_address ${ip} is the gateway (the LAN router); the shim needs an address of its own`);
  }
  return ip;
}

function fromAux(pools: IpamData[]): string | undefined {
  for (const p of pools) {
    for (const name of HOST_AUX_NAMES) {
      const cidr = p.AuxAddresses[name];
      if (cidr !== undefined) return ipOf(cidr);
    }
  }
  return undefined;
}

function derive(pools: IpamData[]): string {
  const pool = prefixOfPool(pools[0]!);
  const top = pool.last - (pool.family === 4 ? 1n : 0n);
  const taken = reserved(pools);
  for (let a = top, i = 0; i < DERIVE_TRIES && a > pool.first; a--, i++) {
    if (!taken.has(a)) return formatIp(pool.family, a);
  }
  throw new InvalidRequestError(`cannot derive a host shim address in ${pools[0]!.Pool}; give one with -o host_address= or --aux-address host=`);
}

/**
 * The host shim's addresses, one per family the network has a subnet of: the family's `host_address`
 * (checked to be a usable address of a subnet, not the gateway); else the aux address named `host` or
 * `host6` (reserved in IPAM, the safe choice); else the highest address of the first subnet that is
 * not the gateway or an aux address (IPAM hands addresses out from the bottom; it must be free on the LAN).
 * @throws InvalidRequestError for an unusable `host_address`, or a subnet too small to derive one.
 */
export function shimAddresses(net: NetworkRecord, cfg: Pick<MacvlanConfig, 'hostAddresses'>): string[] {
  for (const ip of cfg.hostAddresses) {
    const family = familyOf(ip)!;
    if (poolsOf(net, family).length === 0) throw new InvalidRequestError(`host_address ${ip} is IPv${family}, but the network has no IPv${family} subnet`);
  }
  return ([4, 6] as const).flatMap((family) => {
    const pools = poolsOf(net, family);
    if (pools.length === 0) return [];
    const explicit = cfg.hostAddresses.find((ip) => familyOf(ip) === family);
    return [explicit !== undefined ? checkExplicit(explicit, pools) : (fromAux(pools) ?? derive(pools))];
  });
}
