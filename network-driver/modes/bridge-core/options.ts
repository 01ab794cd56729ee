/**
 * @module The `-o` options of a bridge network (bridge mode, and overlay, which is a bridge plus a
 * VXLAN port): Docker's bridge driver names, accepted verbatim, plus short forms; and the typed,
 * versioned configuration made from them once, at CreateNetwork, and stored in the record. Pure.
 */
import { InvalidRequestError } from '../../../common/protocol/errors.js';
import type { NetworkFacts, NetworkRecord } from '../../records.js';
import { nameFromId } from '../shared/names.js';
import {
  booleanValue,
  interfaceNameValue,
  interfacePrefixValue,
  ipValue,
  mtuValue,
  normaliseOptions,
  type OptionSpec,
} from '../shared/options.js';
import { LINK_PREFIXES } from '../../../common/names.js';

/** Docker's option names (`daemon/libnetwork/drivers/bridge/labels.go`, `netlabel/labels.go`). */
export const OPT = {
  bridgeName: 'com.docker.network.bridge.name',
  icc: 'com.docker.network.bridge.enable_icc',
  masquerade: 'com.docker.network.bridge.enable_ip_masquerade',
  hostBindingIpv4: 'com.docker.network.bridge.host_binding_ipv4',
  inhibitIpv4: 'com.docker.network.bridge.inhibit_ipv4',
  mtu: 'com.docker.network.driver.mtu',
  ifacePrefix: 'com.docker.network.container_iface_prefix',
  internal: 'com.docker.network.internal',
  enableIpv6: 'com.docker.network.enable_ipv6',
} as const;

/** What bridge mode accepts after `-o mode=bridge`, in the order docs/tsnet.md lists them. */
export const BRIDGE_OPTIONS: readonly OptionSpec[] = [
  { name: OPT.bridgeName, aliases: ['bridge_name'], normalise: interfaceNameValue },
  { name: OPT.icc, aliases: ['icc', 'enable_icc'], normalise: booleanValue },
  { name: OPT.masquerade, aliases: ['masquerade', 'enable_ip_masquerade'], normalise: booleanValue },
  { name: OPT.hostBindingIpv4, aliases: ['host_binding_ipv4', 'host_ip'], normalise: ipValue },
  { name: OPT.inhibitIpv4, aliases: ['inhibit_ipv4'], normalise: booleanValue },
  { name: OPT.mtu, aliases: ['mtu'], normalise: mtuValue },
  { name: OPT.ifacePrefix, aliases: ['iface_prefix', 'container_iface_prefix'], normalise: interfacePrefixValue },
  { name: OPT.internal, aliases: ['internal'], normalise: booleanValue },
  { name: OPT.enableIpv6, aliases: ['enable_ipv6', 'ipv6'], normalise: booleanValue },
];

/** Prefix of generated bridge names; with 10 characters of the network ID it fills 15 bytes. */
export const BRIDGE_PREFIX = LINK_PREFIXES.bridge;

/** Checks and normalises bridge mode's `-o` options (see {@link normaliseOptions}). */
export function parseBridgeOptions(generic: Record<string, string>): Record<string, string> {
  return normaliseOptions('bridge', BRIDGE_OPTIONS, generic);
}

/** A bridge network's settings, with Docker's defaults filled in. */
export interface BridgeConfig {
  bridge: string;
  /** Given with `-o mtu=`; otherwise the uplink's, found when the bridge is made. */
  mtu?: number;
  icc: boolean;
  masquerade: boolean;
  /** Default host address for `-p` bindings without one; undefined: every address. */
  hostBindingIp?: string;
  inhibitIpv4: boolean;
  ifacePrefix: string;
  /** `--internal` or `-o internal=true`: no route out, no published ports. */
  internal: boolean;
  ipv6: boolean;
  /** Gateway addresses with prefix length (`10.20.0.1/24`), IPv4 first. */
  gateways4: string[];
  gateways6: string[];
}

/** What a bridge network's record holds as `config` (record version 2): version 1 of it. */
export interface BridgeNetworkConfig {
  v: 1;
  bridge: BridgeConfig;
}

/** A network whose config has bridge settings: bridge mode's, and overlay's (which adds its own fields). */
export type BridgeNetwork = NetworkRecord<BridgeNetworkConfig>;

/**
 * A network's bridge settings from its normalised options and IPAM data. Pure.
 * @throws InvalidRequestError when the options contradict the IPAM data (IPv6 asked for without an IPv6 pool).
 */
export function bridgeSettings(net: NetworkFacts): BridgeConfig {
  const o = net.options;
  const flag = (name: string, dflt: boolean) => (o[name] === undefined ? dflt : o[name] === 'true');
  const optIpv6 = flag(OPT.enableIpv6, false);
  if (optIpv6 && net.ipv6.length === 0) {
    throw new InvalidRequestError(`option ${OPT.enableIpv6} needs an IPv6 pool: create the network with --ipv6 --subnet <IPv6 prefix>`);
  }
  const cfg: BridgeConfig = {
    bridge: o[OPT.bridgeName] ?? nameFromId(BRIDGE_PREFIX, net.id),
    icc: flag(OPT.icc, true),
    masquerade: flag(OPT.masquerade, true),
    inhibitIpv4: flag(OPT.inhibitIpv4, false),
    ifacePrefix: o[OPT.ifacePrefix] ?? 'eth',
    internal: net.internal || flag(OPT.internal, false),
    ipv6: net.ipv6.length > 0,
    gateways4: net.ipv4.flatMap((p) => (p.Gateway ? [p.Gateway] : [])),
    gateways6: net.ipv6.flatMap((p) => (p.Gateway ? [p.Gateway] : [])),
  };
  if (o[OPT.mtu] !== undefined) cfg.mtu = Number(o[OPT.mtu]);
  if (o[OPT.hostBindingIpv4] !== undefined) cfg.hostBindingIp = o[OPT.hostBindingIpv4];
  if (cfg.ipv6 && cfg.mtu !== undefined && cfg.mtu < 1280) {
    throw new InvalidRequestError(`option ${OPT.mtu}=${cfg.mtu} is too small for IPv6, which needs at least 1280`);
  }
  return cfg;
}

/** Bridge mode's config of a new network (see {@link bridgeSettings}). */
export function configureBridge(net: NetworkFacts): BridgeNetworkConfig {
  return { v: 1, bridge: bridgeSettings(net) };
}
