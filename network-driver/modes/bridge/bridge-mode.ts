/**
 * @module `-o mode=bridge` (the default): Docker's bridge driver as a tsnet mode. One Linux bridge per
 * network, a veth pair per endpoint, an nftables firewall whose per-network and per-port cost is flat.
 * The phases are the bridge core's (../bridge-core/, shared with overlay); this file gives them bridge
 * mode's flavour (the instance tag's MAC and firewall table) and adds the report and removal of stray
 * `tsbr-…` bridges. See docs/tsnet.md, "Mode `bridge`", for behaviour and design.
 */
import type { ModeKernel } from '../kernel.js';
import type { ModeOptions, NetworkMode } from '../mode.js';
import { acceptedNames } from '../shared/options.js';
import { checkBridge, checkStrays, removeStrays, replugEndpoints } from '../bridge-core/check.js';
import { BRIDGE_OPTIONS, configureBridge, parseBridgeOptions, type BridgeNetworkConfig } from '../bridge-core/options.js';
import { bridgePhases, createBridgeContext } from '../bridge-core/phases.js';

/** The MAC of every bridge of the instance: locally administered `02:74:73` ("ts") + the tag. */
export function bridgeMacFor(tag: string): string {
  return ['02', '74', '73', tag.slice(0, 2), tag.slice(2, 4), tag.slice(4, 6)].join(':');
}

/** Builds bridge mode over the given kernel seam. */
export function createBridgeMode(opts: ModeOptions<ModeKernel>): NetworkMode<BridgeNetworkConfig> {
  const ctx = createBridgeContext(opts, { bridgeMac: bridgeMacFor(opts.tag), firewallTag: opts.tag });
  return {
    name: 'bridge',
    optionNames: acceptedNames(BRIDGE_OPTIONS),
    parseOptions: parseBridgeOptions,
    configure: configureBridge,
    ...bridgePhases(ctx),
    // Stray `tsbr-…` bridges are bridge mode's to report (once, not again by overlay, which shares the prefix).
    check: async (nets, eps) => [...(await checkBridge(ctx, nets, eps)), ...(await checkStrays(ctx))],
    repair: async (nets, eps) => {
      await replugEndpoints(ctx, nets, eps);
      await removeStrays(ctx);
    },
  };
}
