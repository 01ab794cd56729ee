/**
 * @module The `-o` options of `mode=macvlan`, checked and normalised with the shared option table
 * (modes/shared/options.ts). Pure: whether the parent exists, is up or is free is checked when the
 * network is made (network.ts), against the kernel.
 */
import { formatIp, parseIp } from '../../../common/addr/parse.js';
import { VLAN_ID_MAX, VLAN_ID_MIN } from '../../../common/kernel/vlan.js';
import { InvalidRequestError } from '../../../common/protocol/errors.js';
import type { NetworkFacts } from '../../records.js';
import { acceptedNames, booleanValue, interfaceNameValue, normaliseOptions, type Normaliser, type OptionSpec } from '../shared/options.js';

/** Docker's names for the kernel's macvlan modes (`-o macvlan_mode=`); `source` is not offered. */
export const MACVLAN_MODES = ['bridge', 'private', 'vepa', 'passthru'] as const;
export type MacvlanModeName = (typeof MACVLAN_MODES)[number];

/** A network's macvlan settings, as {@link parseMacvlanOptions} reads them; version 1 of macvlan's record config. */
export interface MacvlanConfig {
  v: 1;
  /** The `parent` option as given: an interface name, or `IFACE.VID` for a VLAN sub-interface. */
  parent: string;
  /** Set when `parent` reads as `IFACE.VID`; used only if no link is called `parent` itself. */
  vlan?: { base: string; vid: number };
  mode: MacvlanModeName;
  /** `host_access=true`: a host-side shim so the host and its containers reach each other. */
  hostAccess: boolean;
  /** Explicit shim addresses (`host_address`), at most one per family, canonical. */
  hostAddresses: string[];
}

const modeValue: Normaliser = (value, given) => {
  if (!(MACVLAN_MODES as readonly string[]).includes(value)) {
    throw new InvalidRequestError(`option "${given}" must be one of ${MACVLAN_MODES.join(', ')}, got "${value}"`);
  }
  return value;
};

/** One IPv4 and/or one IPv6 address, comma-separated; canonical text. */
const hostAddressValue: Normaliser = (value, given) => {
  const out: string[] = [];
  for (const text of value.split(',').map((s) => s.trim())) {
    const ip = parseIp(text);
    if (!ip) throw new InvalidRequestError(`option "${given}": "${text}" is not an IP address (give one IPv4 and/or one IPv6 address, comma-separated)`);
    if (out.some((a) => parseIp(a)?.family === ip.family)) throw new InvalidRequestError(`option "${given}" has more than one IPv${ip.family} address`);
    out.push(formatIp(ip.family, ip.addr));
  }
  return out.join(',');
};

const SPECS: readonly OptionSpec[] = [
  { name: 'parent', aliases: [], normalise: interfaceNameValue },
  { name: 'macvlan_mode', aliases: [], normalise: modeValue },
  { name: 'host_access', aliases: [], normalise: booleanValue },
  { name: 'host_address', aliases: [], normalise: hostAddressValue },
];

/** Every option macvlan mode accepts besides `mode`. */
export const MACVLAN_OPTION_NAMES: readonly string[] = acceptedNames(SPECS);

function vlanOf(parent: string): MacvlanConfig['vlan'] {
  const m = /^(.+)\.(\d+)$/.exec(parent);
  if (!m) return undefined;
  const vid = Number(m[2]);
  if (vid < VLAN_ID_MIN || vid > VLAN_ID_MAX) {
    throw new InvalidRequestError(`option "parent": VLAN id of "${parent}" must be ${VLAN_ID_MIN} to ${VLAN_ID_MAX}, got ${m[2]}`);
  }
  return { base: m[1]!, vid };
}

/**
 * Reads the `-o` options of a macvlan network (or the normalised options of its record, which read
 * the same): at CreateNetwork, once. Pure.
 * @throws InvalidRequestError naming the bad option: unknown option, missing or malformed `parent`,
 * VLAN id outside 1–4094, unknown `macvlan_mode`, non-boolean `host_access`, `host_access` with a mode
 * other than bridge, `host_address` without `host_access` or not an address.
 */
export function parseMacvlanOptions(generic: Readonly<Record<string, string>>): MacvlanConfig {
  const o = normaliseOptions('macvlan', SPECS, { ...generic });
  const parent = o.parent ?? '';
  if (parent === '') throw new InvalidRequestError('option "parent" is required for mode macvlan: the host interface the containers share, e.g. -o parent=eth1 (or eth1.10 for VLAN 10)');
  const mode = (o.macvlan_mode ?? 'bridge') as MacvlanModeName;
  const hostAccess = o.host_access === 'true';
  if (hostAccess && mode !== 'bridge') {
    throw new InvalidRequestError(`option "host_access" needs macvlan_mode=bridge: the kernel passes frames between the host shim and the containers only in bridge mode, not ${mode}`);
  }
  const hostAddresses = o.host_address ? o.host_address.split(',') : [];
  if (hostAddresses.length > 0 && !hostAccess) throw new InvalidRequestError('option "host_address" is only used with host_access=true');
  const config: MacvlanConfig = { v: 1, parent, mode, hostAccess, hostAddresses };
  const vlan = vlanOf(parent);
  if (vlan) config.vlan = vlan;
  return config;
}

/** The options stored in the network's record: every option spelled out, defaults included. */
export function normaliseMacvlanOptions(generic: Readonly<Record<string, string>>): Record<string, string> {
  const c = parseMacvlanOptions(generic);
  const out: Record<string, string> = { parent: c.parent, macvlan_mode: c.mode, host_access: String(c.hostAccess) };
  if (c.hostAddresses.length > 0) out.host_address = c.hostAddresses.join(',');
  return out;
}

/** Macvlan mode's config of a new network: its options read once (see {@link parseMacvlanOptions}). */
export function configureMacvlan(net: NetworkFacts): MacvlanConfig {
  return parseMacvlanOptions(net.options);
}
