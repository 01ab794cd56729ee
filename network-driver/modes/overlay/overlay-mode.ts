/**
 * @module `-o mode=overlay`: a network that spans hosts. Per host it is a bridge network of the bridge
 * core (../bridge-core/: bridge, veths, firewall, published ports, run on a context of its own) plus a
 * VXLAN device on the bridge (`tsvx-…`, learning off, ARP/ND proxy on); other hosts' endpoints are
 * programmed on it as static entries (peers.ts) from etcd (cluster.ts). Every host's bridge carries the
 * same gateway address, so each container's gateway is its own host (an anycast gateway, egress by the
 * host's NAT).
 *
 * Without `--cluster-store` the overlay is a single-host network (the VXLAN device has no peers), the
 * embedded default. See docs/tsnet.md, "Mode `overlay`". This file wires the phases: network.ts,
 * endpoint.ts, join and leave (the core's, as they are), peers.ts, restore.ts, status.ts, check.ts (doctor); their shared
 * state is context.ts.
 */
import type { ClusterSession } from '../../../common/cluster/types.js';
import { parseIp } from '../../../common/addr/parse.js';
import { bridgePhases, createBridgeContext } from '../bridge-core/phases.js';
import type { ModeKernel } from '../kernel.js';
import type { ModeOptions, NetworkMode } from '../mode.js';
import { uplinkMtu } from '../shared/uplink.js';
import { checkOverlay, repairOverlay } from './check.js';
import { OverlayCluster } from './cluster.js';
import type { OverlayContext } from './context.js';
import { createEndpoint, deleteEndpoint, operInfo, syncPublished } from './endpoint.js';
import { createNetwork, deleteNetwork } from './network.js';
import { configureOverlay, ESP_OVERHEAD, OVERLAY_OPTION_NAMES, parseOverlayOptions, VXLAN_OVERHEAD_V4, VXLAN_OVERHEAD_V6, type OverlayConfig } from './options.js';
import { EncryptionSync } from './encryption-sync.js';
import { PeerSync } from './peers.js';
import { restore } from './restore.js';
import { status } from './status.js';

/** MAC of this instance's overlay bridges and VXLAN devices: `02:74:6f` ("to") + the instance tag. */
export function overlayMacFor(tag: string): string {
  return ['02', '74', '6f', tag.slice(0, 2), tag.slice(2, 4), tag.slice(4, 6)].join(':');
}

export interface OverlayModeOptions extends ModeOptions<ModeKernel> {
  /** The host's cluster session (`--cluster-store`); absent: single-host overlays. */
  cluster?: ClusterSession;
}

/** The shared state of overlay's phases (see context.ts). */
function createOverlayContext(opts: OverlayModeOptions): OverlayContext {
  const { kernel, log, cluster: session } = opts;
  const vtep = session?.advertiseAddr;
  const overhead = vtep !== undefined && parseIp(vtep)?.family === 6 ? VXLAN_OVERHEAD_V6 : VXLAN_OVERHEAD_V4;
  const mac = overlayMacFor(opts.tag);
  const core = createBridgeContext(opts, {
    bridgeMac: mac,
    firewallTag: `${opts.tag}ov`,
    // The underlay's MTU less the encapsulation, so no inner packet needs fragmenting on the wire.
    defaultMtu: async () => (session ? session.advertiseMtu : await uplinkMtu(kernel)) - overhead,
    mtuOverhead: (config) => ((config as OverlayConfig).encryption ? ESP_OVERHEAD : 0),
  });
  const cluster = session && new OverlayCluster(session);
  const ctx: OverlayContext = {
    kernel,
    log,
    core,
    bridge: bridgePhases<OverlayConfig>(core),
    mac,
    // After etcd was away, what this host changed meanwhile (a withdrawn endpoint, a left network) is written now.
    peers: new PeerSync(
      kernel,
      cluster,
      log,
      () => syncPublished(ctx),
      (vni) => ctx.encryption?.peersChanged(vni),
    ),
    vnis: new Map(),
    published: new Map(),
    republishHooked: false,
    ...(session ? { session } : {}),
    ...(cluster ? { cluster } : {}),
    ...(vtep !== undefined ? { vtep } : {}),
  };
  if (cluster && vtep !== undefined) ctx.encryption = new EncryptionSync(kernel, cluster, vtep, (vni) => ctx.peers.peersOf(vni), log);
  return ctx;
}

export function createOverlayMode(opts: OverlayModeOptions): NetworkMode<OverlayConfig> {
  const ctx = createOverlayContext(opts);
  return {
    name: 'overlay',
    optionNames: OVERLAY_OPTION_NAMES,
    parseOptions: parseOverlayOptions,
    configure: configureOverlay,
    createNetwork: (net) => createNetwork(ctx, net),
    deleteNetwork: (net) => deleteNetwork(ctx, net),
    createEndpoint: (net, ep) => createEndpoint(ctx, net, ep),
    deleteEndpoint: (net, ep) => deleteEndpoint(ctx, net, ep),
    // Join, Leave and the published ports are the bridge core's as they are.
    join: ctx.bridge.join,
    leave: ctx.bridge.leave,
    programExternalConnectivity: ctx.bridge.programExternalConnectivity,
    revokeExternalConnectivity: ctx.bridge.revokeExternalConnectivity,
    operInfo: (net, ep) => operInfo(ctx, net, ep),
    restore: (nets, eps) => restore(ctx, nets, eps),
    check: (nets, eps) => checkOverlay(ctx, nets, eps),
    repair: (nets, eps) => repairOverlay(ctx, nets, eps),
    status: (net) => status(ctx, net),
    close: () => {
      ctx.peers.close();
      ctx.encryption?.close();
    },
  };
}
