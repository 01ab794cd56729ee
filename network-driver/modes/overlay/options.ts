/**
 * @module The `-o` options of `mode=overlay`: bridge mode's options (an overlay is a bridge plus a
 * VXLAN port, so ICC, internal, masquerade, MTU and IPv6 mean the same), less the bridge name, plus the
 * network's cluster-wide identity: its VNI (`vni`, or Docker's `…overlay.vxlanid_list`) and UDP port.
 * Pure.
 */
import { InvalidRequestError } from '../../../common/protocol/errors.js';
import type { NetworkFacts } from '../../records.js';
import { BRIDGE_OPTIONS, bridgeSettings, OPT, type BridgeNetworkConfig } from '../bridge-core/options.js';
import { nameFromId } from '../shared/names.js';
import { acceptedNames, booleanValue, integerValue, normaliseOptions, type Normaliser, type OptionSpec } from '../shared/options.js';
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

/**
 * ESP's cost in transport mode with AES-GCM: header 8 + IV 8 + pad length and next header 2 + ICV 16,
 * plus up to 3 bytes of padding to a 4-byte boundary, rounded up to 40.
 */
export const ESP_OVERHEAD = 40;
/** Default rekey interval of an encrypted overlay: one hour. */
export const DEFAULT_REKEY_SECONDS = 3600;
/** Default rekey volume: 64 GiB sent under one key between two hosts (far below GCM's 2^32 packets). */
export const DEFAULT_REKEY_BYTES = 64 * 2 ** 30;
/**
 * Without `-o vxlan_port`, an encrypted overlay takes its own UDP port, `ENCRYPTED_PORT_BASE + vni % 1024`
 * (the same on every host): the xfrm policies select a network's traffic by its port (see docs/encryption.md).
 */
export const ENCRYPTED_PORT_BASE = 14800;

export const OVERLAY_OPT = {
  vni: 'vni',
  vxlanIdList: 'com.docker.network.driver.overlay.vxlanid_list',
  port: 'vxlan_port',
  encrypted: 'encrypted',
  rekeyInterval: 'rekey_interval',
  rekeyBytes: 'rekey_bytes',
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
  { name: OVERLAY_OPT.encrypted, aliases: [], normalise: (v, given) => (v === '' ? 'true' : booleanValue(v, given)) },
  { name: OVERLAY_OPT.rekeyInterval, aliases: [], normalise: integerValue(60, 7 * 24 * 3600) },
  { name: OVERLAY_OPT.rekeyBytes, aliases: [], normalise: integerValue(2 ** 20, 2 ** 50) },
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
  if (out[OVERLAY_OPT.encrypted] !== 'true' && (out[OVERLAY_OPT.rekeyInterval] !== undefined || out[OVERLAY_OPT.rekeyBytes] !== undefined)) {
    throw new InvalidRequestError(`options "${OVERLAY_OPT.rekeyInterval}" and "${OVERLAY_OPT.rekeyBytes}" need -o ${OVERLAY_OPT.encrypted}=true`);
  }
  if (out[OVERLAY_OPT.vni] === undefined) {
    throw new InvalidRequestError(
      `mode overlay needs -o vni=N (${VNI_MIN}–${VNI_MAX}): the VXLAN network identifier that makes this the same network on every host; use the same vni and --subnet on each host`,
    );
  }
  return out;
}

/** Prefix of the overlay's VXLAN device (its bridge is the core's, named with BRIDGE_PREFIX). */
export const VXLAN_PREFIX = LINK_PREFIXES.vxlan;

/**
 * An overlay network's record config, version 1: the bridge core's settings (`bridge`), and the
 * overlay's own. Extend it here (a new field, or `v: 2` with a migration) when overlay learns more.
 */
export interface OverlayConfig extends BridgeNetworkConfig {
  vni: number;
  port: number;
  /** The VXLAN device, `tsvx-` + network ID. */
  vxlan: string;
  /** Given with `-o mtu=`; otherwise the advertise interface's MTU less the VXLAN (and ESP) overhead. */
  mtu?: number;
  /** `-o encrypted=true`: VXLAN between hosts is ESP; absent for a cleartext overlay (records before it have none). */
  encryption?: EncryptionConfig;
}

/** How an encrypted overlay rekeys: whichever comes first. */
export interface EncryptionConfig {
  rekeySeconds: number;
  rekeyBytes: number;
}

/**
 * The config of a new overlay network, from its normalised options and IPAM data (once, at CreateNetwork). Pure.
 * @throws InvalidRequestError as bridgeSettings.
 */
export function configureOverlay(net: NetworkFacts): OverlayConfig {
  const o = net.options;
  const vni = Number(o[OVERLAY_OPT.vni]);
  const encrypted = o[OVERLAY_OPT.encrypted] === 'true';
  const cfg: OverlayConfig = {
    v: 1,
    bridge: bridgeSettings(net),
    vni,
    port: Number(o[OVERLAY_OPT.port] ?? (encrypted ? ENCRYPTED_PORT_BASE + (vni % 1024) : DEFAULT_VXLAN_PORT)),
    vxlan: nameFromId(VXLAN_PREFIX, net.id),
  };
  if (encrypted) {
    cfg.encryption = { rekeySeconds: Number(o[OVERLAY_OPT.rekeyInterval] ?? DEFAULT_REKEY_SECONDS), rekeyBytes: Number(o[OVERLAY_OPT.rekeyBytes] ?? DEFAULT_REKEY_BYTES) };
  }
  if (o[OPT.mtu] !== undefined) cfg.mtu = Number(o[OPT.mtu]);
  return cfg;
}
