/**
 * @module CreateNetwork / DeleteNetwork of bridge mode: resolves the plan (bridge name, MTU), refuses a
 * bridge name that is taken, runs the setup queue (setup-steps.ts) with rollback, and tears down.
 */
import { errorFields } from '../../../common/log.js';
import { ConflictError } from '../../../common/protocol/errors.js';
import type { BridgeContext } from './context.js';
import type { BridgeNetwork } from './options.js';
import { BRIDGE_STEPS, KERNEL_STEPS, runSteps, type BridgePlan } from './setup-steps.js';
import { short } from '../shared/names.js';


/**
 * Checks the bridge name is free for `net` and claims it (synchronously, so two concurrent creates
 * cannot both get it). A bridge of ours without a network (a crash leftover) is adopted.
 * @returns whether the bridge already exists.
 * @throws ConflictError when another network of ours uses the name, or a link of that name exists that is not ours.
 */
async function claimBridge(ctx: BridgeContext, net: BridgeNetwork, bridge: string): Promise<boolean> {
  const owner = ctx.bridges.get(bridge);
  if (owner !== undefined && owner !== net.id) throw new ConflictError(`bridge name "${bridge}" is already used by network ${short(owner)}`);
  ctx.bridges.set(bridge, net.id);
  try {
    const link = await ctx.kernel.findLink(bridge);
    if (!link) return false;
    if (link.kind !== 'bridge' || link.mac !== ctx.bridgeMac) {
      const what = link.kind === 'bridge' ? 'a bridge that tsnet did not make' : `a ${link.kind} interface`;
      throw new ConflictError(`bridge name "${bridge}" is taken: the host already has ${what} of that name; choose another com.docker.network.bridge.name`);
    }
    return true;
  } catch (err) {
    if (owner === undefined) ctx.bridges.delete(bridge);
    throw err;
  }
}

/** The settings the setup steps run with. */
async function plan(ctx: BridgeContext, net: BridgeNetwork, existed: boolean): Promise<BridgePlan> {
  const cfg = net.config.bridge;
  return { ...cfg, mtu: cfg.mtu ?? (await ctx.defaultMtu(net.config)), mac: ctx.bridgeMac, existed };
}

/**
 * Makes the network's bridge, addresses, sysctls and firewall entry. Idempotent. On failure everything
 * it made is undone and the name released.
 * @throws InvalidRequestError for options that contradict the IPAM data; ConflictError for a taken name;
 * KernelError naming the failed step.
 */
export async function createNetwork(ctx: BridgeContext, net: BridgeNetwork): Promise<void> {
  const { bridge } = net.config.bridge;
  const known = ctx.bridges.get(bridge) === net.id;
  const existed = await claimBridge(ctx, net, bridge);
  try {
    await runSteps(BRIDGE_STEPS, ctx, await plan(ctx, net, existed || known), (step, err) =>
      ctx.log.warn('undo failed', { NetworkID: short(net.id), step, ...errorFields(err) }),
    );
  } catch (err) {
    if (!known) ctx.bridges.delete(bridge);
    throw err;
  }
}

/**
 * Re-runs the setup queue for a stored network (restore). Failures are logged, not thrown, so one
 * broken network does not keep the others down; the firewall step is left to restore's rebuild.
 */
export async function restoreNetwork(ctx: BridgeContext, net: BridgeNetwork): Promise<void> {
  try {
    await runSteps(KERNEL_STEPS, ctx, await plan(ctx, net, true), () => undefined);
  } catch (err) {
    ctx.log.warn('could not restore network', { NetworkID: short(net.id), ...errorFields(err) });
  }
}

/** Removes the network's firewall entry and bridge, after its endpoints' veths. Idempotent: what is missing counts as removed. */
export async function deleteNetwork(ctx: BridgeContext, net: BridgeNetwork): Promise<void> {
  const { bridge } = net.config.bridge;
  await ctx.background.settle(net.id);
  await ctx.firewall.removeNetwork(bridge);
  await ctx.kernel.deleteLink(bridge);
  if (ctx.bridges.get(bridge) === net.id) ctx.bridges.delete(bridge);
}
