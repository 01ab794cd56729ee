/**
 * @module CreateNetwork / DeleteNetwork of overlay mode: claim the VNI (on this host, then in etcd with
 * the network's definition), make the bridge core's network, put the VXLAN device on its bridge, and
 * program the peers other hosts published; undone in reverse on failure and on delete.
 */
import { errorFields } from '../../../common/log.js';
import type { LinkInfo } from '../../../common/kernel/link-types.js';
import { ConflictError } from '../../../common/protocol/errors.js';
import { short } from '../shared/names.js';
import type { NetworkDefinition } from './cluster.js';
import type { OverlayContext, OverlayNetwork } from './context.js';
import { VXLAN_PREFIX } from './options.js';

/** The definition every host of the network must share. Pure. */
export function networkDefinition(net: OverlayNetwork): NetworkDefinition {
  const cfg = net.config;
  const pools = [...net.ipv4, ...net.ipv6];
  const def: NetworkDefinition = {
    vni: cfg.vni,
    port: cfg.port,
    subnets: pools.map((p) => p.Pool).sort(),
    gateways: pools.flatMap((p) => (p.Gateway ? [p.Gateway] : [])).sort(),
    internal: cfg.bridge.internal,
  };
  if (cfg.mtu !== undefined) def.mtu = cfg.mtu;
  if (cfg.encryption) def.encrypted = { ...cfg.encryption };
  return def;
}

/** Whether a link is one of this instance's VXLAN devices (its name prefix and overlay MAC). */
export const isOurVxlan = (ctx: OverlayContext, link: LinkInfo) => link.kind === 'vxlan' && link.name.startsWith(VXLAN_PREFIX) && link.mac === ctx.mac;

/** Refuses a VNI another network of this host has, and a VXLAN device of someone else's with this VNI and port. */
async function checkVni(ctx: OverlayContext, net: OverlayNetwork): Promise<void> {
  const cfg = net.config;
  const owner = ctx.vnis.get(cfg.vni);
  if (owner !== undefined && owner !== net.id) throw new ConflictError(`vni ${cfg.vni} is already used by network ${short(owner)} on this host`);
  for (const link of await ctx.kernel.listLinks()) {
    const v = link.vxlan;
    if (link.kind !== 'vxlan' || !v || v.vni !== cfg.vni || v.port !== cfg.port || link.name === cfg.vxlan) continue;
    if (isOurVxlan(ctx, link)) {
      // Ours, and no network has it (a crash leftover): the kernel would answer "file exists" forever.
      ctx.log.info('removing leftover VXLAN device', { link: link.name, vni: cfg.vni });
      await ctx.kernel.deleteLink(link.name);
    } else {
      throw new ConflictError(`VXLAN vni ${cfg.vni} on UDP port ${cfg.port} is already used on this host by interface "${link.name}"; choose another vni or vxlan_port`);
    }
  }
}

/** Makes (or fixes up) the network's VXLAN device on its bridge. Idempotent. */
export async function ensureVxlan(ctx: OverlayContext, net: OverlayNetwork): Promise<void> {
  const cfg = net.config;
  const mtu = cfg.mtu ?? (await ctx.core.defaultMtu(cfg));
  const local = ctx.vtep ? { local: ctx.vtep } : {};
  await ctx.kernel.ensureVxlan(cfg.vxlan, { vni: cfg.vni, port: cfg.port, ...local, learning: false, proxy: true, mtu, mac: ctx.mac, master: cfg.bridge.bridge });
}

/**
 * Makes the network on this host. Idempotent. On failure everything made is undone, the VNI released.
 * @throws ConflictError for a VNI in use (here or, with other settings, in the cluster); as the bridge core's createNetwork.
 */
export async function createNetwork(ctx: OverlayContext, net: OverlayNetwork): Promise<void> {
  const cfg = net.config;
  if (cfg.encryption) await ctx.kernel.requireEspAead();
  await checkVni(ctx, net);
  ctx.vnis.set(cfg.vni, net.id);
  try {
    await ctx.cluster?.claimNetwork(networkDefinition(net), net.id);
  } catch (err) {
    ctx.vnis.delete(cfg.vni);
    throw err;
  }
  try {
    await ctx.bridge.createNetwork(net);
    await ensureVxlan(ctx, net);
    // Keys and policies before the peers' entries: no VXLAN frame of this network leaves in clear.
    if (cfg.encryption) await ctx.encryption?.attach(cfg.vni, cfg.port, cfg.encryption, true);
    await ctx.peers.attach(cfg.vni, cfg.vxlan);
  } catch (err) {
    ctx.peers.detach(cfg.vni);
    if (cfg.encryption) await ctx.encryption?.detach(cfg.vni).catch(() => undefined);
    await ctx.kernel.deleteLink(cfg.vxlan).catch(() => undefined);
    await ctx.bridge.deleteNetwork(net).catch(() => undefined);
    await ctx.cluster?.releaseNetwork(cfg.vni).catch((e: unknown) => ctx.log.warn('could not leave the overlay in etcd', { vni: cfg.vni, ...errorFields(e) }));
    ctx.vnis.delete(cfg.vni);
    throw err;
  }
}

/** Removes the network from this host (and, if it was the last, from etcd). Idempotent. */
export async function deleteNetwork(ctx: OverlayContext, net: OverlayNetwork): Promise<void> {
  const cfg = net.config;
  ctx.peers.detach(cfg.vni);
  await ctx.kernel.deleteLink(cfg.vxlan);
  if (cfg.encryption) await ctx.encryption?.detach(cfg.vni);
  await ctx.bridge.deleteNetwork(net);
  if (ctx.vnis.get(cfg.vni) === net.id) ctx.vnis.delete(cfg.vni);
  // etcd away: the membership is left, and the next sync (start-up, reconnection) removes it.
  await ctx.cluster?.releaseNetwork(cfg.vni).catch((err: unknown) => ctx.log.warn('could not leave the overlay in etcd; will retry on the next sync', { vni: cfg.vni, ...errorFields(err) }));
}
