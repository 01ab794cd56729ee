/**
 * @module The `-o` options of `mode=overlay`: bridge mode's options (an overlay is a bridge plus a
 * VXLAN port, so ICC, internal, masquerade, MTU and IPv6 mean the same), less the bridge name, plus the
 * network's cluster-wide identity: its VNI (`vni`, or Docker's `…overlay.vxlanid_list`) and UDP port.
 * Pure.
 */
import { InvalidRequestError } from '../../../common/protocol/errors.js';
import type { NetworkRecord } from '../../records.js';
import { BRIDGE_OPTIONS, OPT } from '../bridge/options.js';
import { nameFromId } from '../shared/names.js';
import { acceptedNames, integerValue, normaliseOptions, type Normaliser, type OptionSpec } from '../shared/options.js';
import { LINK_PREFIXES } from '../../../common/names.js';

/** VNIs a network may use: 24 bits, 0 excluded (Docker's auto range starts at 4096; any is fine here). */
export const VNI_MIN = 1;
export const VNI_MAX = 16_777_215;
/** IANA's VXLAN port, what Docker and the kernel's `dstport 4789` use. */
export const DEFAULT_VXLAN_PORT = 4789;
/** VXLAN's cost on an IPv4 underlay: outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14. */
export const VXLAN_OVERHEAD_V4 = 50;
/** With an IPv6 underlay the outer header is 20 bytes longer. */
export const VXLAN_OVERHEAD_V6 = 70;

export const OVERLAY_OPT = {
  vni: 'vni',
  vxlanIdList: 'com.docker.network.driver.overlay.vxlanid_list',
  port: 'vxlan_port',
} as const;

const vniValue = integerValue(VNI_MIN, VNI_MAX);

/**
 * Docker's `vxlanid_list` is one VNI per subnet, comma-separated; a tsnet overlay is one VXLAN segment
 * whatever its subnets, so the list must name one VNI (repeated is fine).
 */
const vniListValue: Normaliser = (value, given) => {
  const vnis = [...new Set(value.split(',').map((v) => vniValue(v.trim(), given)))];
  if (vnis.length !== 1) throw new InvalidRequestError(`option "${given}" lists several VNIs (${vnis.join(', ')}); a tsnet overlay is one VXLAN segment: give one VNI`);
  return vnis[0]!;
};

const OVERLAY_OWN: readonly OptionSpec[] = [
  { name: OVERLAY_OPT.vni, aliases: [OVERLAY_OPT.vxlanIdList, 'vxlanid_list'], normalise: vniListValue },
  { name: OVERLAY_OPT.port, aliases: ['com.docker.network.driver.overlay.vxlan_port', 'dstport'], normalise: integerValue(1, 65535) },
];

/** Everything `mode=overlay` accepts: its own options, then bridge mode's except the bridge name. */
export const OVERLAY_OPTIONS: readonly OptionSpec[] = [...OVERLAY_OWN, ...BRIDGE_OPTIONS.filter((s) => s.name !== OPT.bridgeName)];

export const OVERLAY_OPTION_NAMES = acceptedNames(OVERLAY_OPTIONS);

/**
 * Checks and normalises the options; the VNI is required (the driver never learns Docker's network
 * name, so the VNI is what makes "the same network" on every host).
 */
export function parseOverlayOptions(generic: Record<string, string>): Record<string, string> {
  const out = normaliseOptions('overlay', OVERLAY_OPTIONS, generic);
  if (out[OVERLAY_OPT.vni] === undefined) {
    throw new InvalidRequestError(
      `mode overlay needs -o vni=N (${VNI_MIN}–${VNI_MAX}): the VXLAN network identifier that makes this the same network on every host; use the same vni and --subnet on each host`,
    );
  }
  return out;
}

/** Prefixes of the overlay's kernel objects: its bridge and its VXLAN device. */
export const OVERLAY_BRIDGE_PREFIX = LINK_PREFIXES.bridge;
export const VXLAN_PREFIX = LINK_PREFIXES.vxlan;

/** An overlay network's own settings (bridge settings come from bridgeConfig). */
export interface OverlayConfig {
  vni: number;
  port: number;
  /** The VXLAN device, `tsvx-` + network ID. */
  vxlan: string;
  /** Given with `-o mtu=`; otherwise the advertise interface's MTU less the VXLAN overhead. */
  mtu?: number;
}

/** The overlay settings of a stored network. Pure. */
export function overlayConfig(net: NetworkRecord): OverlayConfig {
  const o = net.options;
  const cfg: OverlayConfig = { vni: Number(o[OVERLAY_OPT.vni]), port: Number(o[OVERLAY_OPT.port] ?? DEFAULT_VXLAN_PORT), vxlan: nameFromId(VXLAN_PREFIX, net.id) };
  if (o[OPT.mtu] !== undefined) cfg.mtu = Number(o[OPT.mtu]);
  return cfg;
}
