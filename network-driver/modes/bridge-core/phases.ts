/**
 * @module The bridge core's entry point: what bridge mode and overlay mode share, as one explicit
 * module. A "flavour" (bridge: the instance tag's MAC and firewall table; overlay: its own, and an MTU
 * less the VXLAN overhead) gets a context of its own, and {@link bridgePhases} wires the core's phases
 * (network, endpoint, join-leave, ports, restore, check) over it. A mode built on the core takes these
 * phases and adds its own steps around them; it imports nothing else of bridge mode.
 */
import type { Logger } from '../../../common/log.js';
import type { ModeKernel } from '../kernel.js';
import type { NetworkMode } from '../mode.js';
import { uplinkMtu } from '../shared/uplink.js';
import { BackgroundWork } from './background.js';
import { checkBridge, replugEndpoints } from './check.js';
import type { BridgeContext } from './context.js';
import { createEndpoint, deleteEndpoint, operInfo } from './endpoint.js';
import { BridgeFirewall } from './firewall.js';
import { firewallNames } from './firewall-plan.js';
import { join, leave } from './join-leave.js';
import { createNetwork, deleteNetwork } from './network.js';
import type { BridgeNetworkConfig } from './options.js';
import { PortTable } from './port-table.js';
import { portPhase } from './ports.js';
import { restore } from './restore.js';

/** What a mode built on the bridge core changes: its own marker MAC, firewall table and default MTU. */
export interface BridgeFlavour {
  /** MAC of the mode's bridges; restore takes bridges with this MAC (and only those) for its own. */
  bridgeMac: string;
  /** Tag of the mode's nftables table and FORWARD chain (see firewallNames). */
  firewallTag: string;
  /** The MTU of networks without `-o mtu=`; default: the uplink's. */
  defaultMtu?: () => Promise<number>;
  /** What a network's own settings take off that default (overlay: ESP when encrypted); default none. */
  mtuOverhead?: (config: BridgeNetworkConfig) => number;
}

/** Caches a lookup that rarely changes; a failed lookup is retried next time. */
function once(lookup: () => Promise<number>): () => Promise<number> {
  let value: Promise<number> | undefined;
  return () => (value ??= lookup().catch((err: unknown) => {
    value = undefined;
    throw err;
  }));
}

/** The shared state of the core's phases, for one flavour. */
export function createBridgeContext(opts: { kernel: ModeKernel; log: Logger }, flavour: BridgeFlavour): BridgeContext {
  const base = once(flavour.defaultMtu ?? (() => uplinkMtu(opts.kernel)));
  return {
    kernel: opts.kernel,
    firewall: new BridgeFirewall(opts.kernel, firewallNames(flavour.firewallTag)),
    ports: new PortTable(),
    bridges: new Map(),
    bridgeMac: flavour.bridgeMac,
    background: new BackgroundWork(opts.log),
    // A route dump costs milliseconds on a busy host, and the uplink rarely changes: a restart re-reads it.
    defaultMtu: async (config) => (await base()) - (flavour.mtuOverhead?.(config) ?? 0),
    log: opts.log,
  };
}

/** The core's phases, over any config that has bridge settings (bridge mode's, overlay's). */
export type BridgePhases<C extends BridgeNetworkConfig = BridgeNetworkConfig> = Omit<NetworkMode<C>, 'name' | 'optionNames' | 'parseOptions' | 'configure'>;

/** Wires the phases (network, endpoint, join-leave, ports, restore, check) to the NetworkMode interface. */
export function bridgePhases<C extends BridgeNetworkConfig>(ctx: BridgeContext): Required<Pick<BridgePhases<C>, 'programExternalConnectivity' | 'revokeExternalConnectivity' | 'check' | 'repair'>> & BridgePhases<C> {
  return {
    createNetwork: (net) => createNetwork(ctx, net),
    deleteNetwork: (net) => deleteNetwork(ctx, net),
    createEndpoint: async (_net, ep) => createEndpoint(ep),
    deleteEndpoint: (_net, ep) => deleteEndpoint(ctx, ep),
    join: (net, ep, options) => join(ctx, net, ep, options),
    leave,
    programExternalConnectivity: (net, ep, options) => portPhase.program(ctx, net, ep, options),
    revokeExternalConnectivity: (_net, ep) => portPhase.revoke(ctx, ep),
    operInfo,
    restore: (nets, eps) => restore(ctx, nets, eps),
    check: (nets, eps) => checkBridge(ctx, nets, eps),
    repair: (nets, eps) => replugEndpoints(ctx, nets, eps),
  };
}
