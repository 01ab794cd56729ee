/**
 * @module `-o mode=bridge` (the default): Docker's bridge driver as a tsnet mode. One Linux bridge per
 * network, a veth pair per endpoint, an nftables firewall whose per-network and per-port cost is flat.
 * This file only wires the phases (network, endpoint, join-leave, ports, restore) to the NetworkMode
 * interface; see the "Mode `bridge`" section of the repository README for behaviour and design.
 */
import type { Logger } from '../../../common/log.js';
import type { NetworkMode } from '../mode.js';
import { acceptedNames } from '../shared/options.js';
import { uplinkMtu } from '../shared/uplink.js';
import { BackgroundWork } from './background.js';
import type { BridgeContext } from './context.js';
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

/** Builds bridge mode over the given kernel seam. */
export function createBridgeMode(opts: BridgeModeOptions): NetworkMode {
  let mtu: Promise<number> | undefined;
  const ctx: BridgeContext = {
    kernel: opts.kernel,
    firewall: new BridgeFirewall(opts.kernel, firewallNames(opts.tag)),
    ports: new PortTable(),
    bridges: new Map(),
    bridgeMac: bridgeMacFor(opts.tag),
    background: new BackgroundWork(opts.log),
    // A route dump costs milliseconds on a busy host, and the uplink rarely changes: a restart re-reads it.
    uplinkMtu: () => (mtu ??= uplinkMtu(opts.kernel).catch((err: unknown) => {
      mtu = undefined;
      throw err;
    })),
    log: opts.log,
  };
  return {
    name: 'bridge',
    optionNames: acceptedNames(BRIDGE_OPTIONS),
    parseOptions: parseBridgeOptions,
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
  };
}
