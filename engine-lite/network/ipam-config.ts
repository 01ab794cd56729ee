/**
 * @module `network create`'s `--subnet`, `--ip-range`, `--gateway` and `--aux-address` grouped per
 * subnet with the docker CLI's rules and messages (`consolidateIpam`). Pure.
 */
import { parseCidr, parseIp, type Cidr } from '../../common/addr/parse.js';
import { containsAddress, prefixOfCidr } from '../../common/addr/prefix.js';
import { InvalidArgumentError } from '../errors.js';
import type { IpamConfig } from '../state/records.js';

/** Whether address `addr` (of `c`'s family) lies inside `c`. */
function contains(c: Cidr, family: 4 | 6, addr: bigint): boolean {
  return containsAddress(prefixOfCidr(c), family, addr);
}

function cidrOf(flag: string, text: string): Cidr {
  const c = parseCidr(text);
  if (!c) throw new InvalidArgumentError(`invalid ${flag} "${text}": not an address with a prefix length (e.g. 10.20.0.0/24)`);
  return c;
}

function ipOf(flag: string, text: string): { family: 4 | 6; addr: bigint } {
  const ip = parseIp(text);
  if (!ip) throw new InvalidArgumentError(`invalid ${flag} "${text}": not an IP address`);
  return ip;
}

/** The flags of `network create` that shape IPAM. */
export interface IpamFlags {
  subnets: string[];
  ranges: string[];
  gateways: string[];
  /** `name=ip` strings. */
  auxAddresses: string[];
}

/**
 * One config per `--subnet`, with its range, gateway and aux addresses, in the order given.
 * @throws InvalidArgumentError with docker's messages.
 */
export function consolidateIpam(flags: IpamFlags): IpamConfig[] {
  if (flags.subnets.length < flags.ranges.length || flags.subnets.length < flags.gateways.length) {
    throw new InvalidArgumentError('every ip-range or gateway must have a corresponding subnet');
  }
  const subnets = flags.subnets.map((s) => ({ text: s, cidr: cidrOf('--subnet', s), config: { Subnet: s } as IpamConfig }));
  for (const [i, a] of subnets.entries()) {
    for (const b of subnets.slice(0, i)) {
      if (contains(a.cidr, b.cidr.family, b.cidr.addr) || contains(b.cidr, a.cidr.family, a.cidr.addr)) {
        throw new InvalidArgumentError('multiple overlapping subnet configuration is not supported');
      }
    }
  }
  const place = (flag: string, key: 'IPRange' | 'Gateway', what: string, value: string, ip: { family: 4 | 6; addr: bigint }) => {
    const s = subnets.find((x) => contains(x.cidr, ip.family, ip.addr));
    if (!s) throw new InvalidArgumentError(`no matching subnet for ${flag} ${value}`);
    const had = s.config[key];
    if (had !== undefined) throw new InvalidArgumentError(`cannot configure multiple ${what} (${had}, ${value}) on the same subnet (${s.text})`);
    s.config[key] = value;
  };
  for (const r of flags.ranges) place('range', 'IPRange', 'ranges', r, cidrOf('--ip-range', r));
  for (const g of flags.gateways) place('gateway', 'Gateway', 'gateways', g, ipOf('--gateway', g));
  for (const a of flags.auxAddresses) {
    const eq = a.indexOf('=');
    if (eq <= 0) throw new InvalidArgumentError(`invalid --aux-address "${a}": expected name=ip`);
    const value = a.slice(eq + 1);
    const ip = ipOf('--aux-address', value);
    const s = subnets.find((x) => contains(x.cidr, ip.family, ip.addr));
    if (!s) throw new InvalidArgumentError(`no matching subnet for aux-address ${value}`);
    s.config.AuxiliaryAddresses = { ...s.config.AuxiliaryAddresses, [a.slice(0, eq)]: value };
  }
  return subnets.map((s) => s.config);
}

/** Whether a config is for IPv6 (by its subnet). */
export function isV6Config(c: IpamConfig): boolean {
  return c.Subnet !== undefined && parseCidr(c.Subnet)?.family === 6;
}
