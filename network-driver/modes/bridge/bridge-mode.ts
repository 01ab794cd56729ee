/**
 * @module `-o mode=bridge` (the default): Docker's bridge driver as a tsnet mode. One Linux bridge per
 * network, a veth pair per endpoint, an nftables firewall whose per-network and per-port cost is flat.
 * This file only wires the phases (network, endpoint, join-leave, ports, restore) to the NetworkMode
 * interface; see docs/tsnet.md, "Mode `bridge`", for behaviour and design.
 */
import type { Logger } from '../../../common/log.js';
import type { NetworkMode } from '../mode.js';
import { acceptedNames } from '../shared/options.js';
import { uplinkMtu } from '../shared/uplink.js';
import { BackgroundWork } from './background.js';
import type { BridgeContext } from './context.js';
import { checkBridge, checkStrays, removeStrays, replugEndpoints } from './check.js';
import { createEndpoint, deleteEndpoint, operInfo } from './endpoint.js';
import { BridgeFirewall } from './firewall.js';
import { firewallNames } from './firewall-plan.js';
import { join, leave } from './join-leave.js';
import type { BridgeKernel } from './kernel.js';
import { createNetwork, deleteNetwork } from './network.js';
import { BRIDGE_OPTIONS, parseBridgeOptions } from './options.js';
import { PortTable } from './port-table.js';
import { portPhase } from './ports.js';
import { restore } from './restore.js';

/** The MAC of every bridge of the instance: locally administered `02:74:73` ("ts") + the tag. */
export function bridgeMacFor(tag: string): string {
  return ['02', '74', '73', tag.slice(0, 2), tag.slice(2, 4), tag.slice(4, 6)].join(':');
}

export interface BridgeModeOptions {
  kernel: BridgeKernel;
  /** From `instanceTag` (modes/shared/instance.ts). */
  tag: string;
  log: Logger;
}

/** What a mode built on bridge mode (overlay) changes: its own marker MAC, firewall table and default MTU. */
export interface BridgeFlavour {
  /** MAC of the mode's bridges; restore takes bridges with this MAC (and only those) for its own. */
  bridgeMac: string;
  /** Tag of the mode's nftables table and FORWARD chain (see firewallNames). */
  firewallTag: string;
  /** The MTU of networks without `-o mtu=`; default: the uplink's. */
  defaultMtu?: () => Promise<number>;
}

/** Caches a lookup that rarely changes; a failed lookup is retried next time. */
function once(lookup: () => Promise<number>): () => Promise<number> {
  let value: Promise<number> | undefined;
  return () => (value ??= lookup().catch((err: unknown) => {
    value = undefined;
    throw err;
  }));
}

/** The shared state of bridge mode's phases; bridge mode uses the instance tag, other flavours their own. */
export function createBridgeContext(opts: BridgeModeOptions, flavour: BridgeFlavour): BridgeContext {
  return {
    kernel: opts.kernel,
    firewall: new BridgeFirewall(opts.kernel, firewallNames(flavour.firewallTag)),
    ports: new PortTable(),
    bridges: new Map(),
    bridgeMac: flavour.bridgeMac,
    background: new BackgroundWork(opts.log),
    // A route dump costs milliseconds on a busy host, and the uplink rarely changes: a restart re-reads it.
    defaultMtu: once(flavour.defaultMtu ?? (() => uplinkMtu(opts.kernel))),
    log: opts.log,
  };
}

/** Bridge mode's phases over a context, for bridge mode itself and for modes that extend it. */
export type BridgePhases = Omit<NetworkMode, 'name' | 'optionNames' | 'parseOptions'>;

/** Wires the phases (network, endpoint, join-leave, ports, restore) to the NetworkMode interface. */
export function bridgePhases(ctx: BridgeContext): BridgePhases {
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

/** Builds bridge mode over the given kernel seam. */
export function createBridgeMode(opts: BridgeModeOptions): NetworkMode {
  const ctx = createBridgeContext(opts, { bridgeMac: bridgeMacFor(opts.tag), firewallTag: opts.tag });
  const phases = bridgePhases(ctx);
  return {
    name: 'bridge',
    optionNames: acceptedNames(BRIDGE_OPTIONS),
    parseOptions: parseBridgeOptions,
    ...phases,
    // Stray `tsbr-…` bridges are bridge mode's to report (once, not again by overlay, which shares the prefix).
    check: async (nets, eps) => [...(await checkBridge(ctx, nets, eps)), ...(await checkStrays(ctx))],
    repair: async (nets, eps) => {
      await replugEndpoints(ctx, nets, eps);
      await removeStrays(ctx);
    },
  };
}
