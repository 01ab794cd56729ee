/**
 * @module Start-up reconciliation (docs/architecture.md "Recovery"): every stored network gets its
 * parent checked (its VLAN sub-interface remade), its shim, shim addresses and host routes back; then
 * every link of this mode's shapes carrying this instance's tag (names.ts) that no record owns is deleted. A network that cannot be
 * restored (its parent is gone) is logged and kept: its records stay, and later calls say why they fail.
 */
import { errorFields } from '../../../common/log.js';
import type { EndpointRecord } from '../../records.js';
import { short } from '../shared/names.js';
import type { MacvlanContext, MacvlanNetwork } from './context.js';
import { addHostRoutes, pruneHostRoutes, setupShim } from './host-shim.js';
import { childName, isMacvlanModeLink, shimName, vlanName } from './names.js';
import { ensureParent } from './parent-link.js';

/** Brings one network's kernel objects back. Returns the names of the links it owns. */
async function restoreNetwork(ctx: MacvlanContext, net: MacvlanNetwork, eps: readonly EndpointRecord[]): Promise<string[]> {
  const cfg = net.config;
  ctx.parents.add(net.id, cfg.parent, cfg.mode);
  for (const ep of eps) ctx.parents.addEndpoint(net.id, ep.id);
  const owned = eps.map((ep) => childName(ctx.tag, ep.id));
  if (cfg.vlan) owned.push(vlanName(ctx.tag, cfg.vlan.base, cfg.vlan.vid));
  if (cfg.hostAccess) owned.push(shimName(ctx.tag, net.id));
  try {
    const parent = await ensureParent(ctx, cfg);
    if (cfg.hostAccess) {
      await setupShim(ctx, net, cfg, parent);
      for (const ep of eps) await addHostRoutes(ctx, net, ep);
      await pruneHostRoutes(ctx, net, eps);
    }
  } catch (err) {
    ctx.log.warn('macvlan network not restored', { NetworkID: short(net.id), parent: cfg.parent, ...errorFields(err) });
  }
  return owned;
}

/** Restores `nets` (with their endpoints `eps`) and deletes leftover links. Never throws for one network. */
export async function restore(ctx: MacvlanContext, nets: readonly MacvlanNetwork[], eps: readonly EndpointRecord[]): Promise<void> {
  const owned = new Set<string>();
  for (const net of nets) {
    const names = await restoreNetwork(ctx, net, eps.filter((e) => e.networkId === net.id));
    for (const n of names) owned.add(n);
  }
  for (const link of await ctx.kernel.listLinks('tsmv')) {
    if (!isMacvlanModeLink(link.name, ctx.tag) || owned.has(link.name)) continue;
    await ctx.kernel.deleteLink(link.name);
    ctx.log.info('removed leftover macvlan link', { link: link.name });
  }
}
