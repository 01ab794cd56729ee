/**
 * @module Start-up reconcile of overlay mode: the bridge core's restore, then each network's VXLAN
 * device and peers again, this host's publications rebuilt from the records, and this instance's VXLAN
 * devices that no record owns deleted. With a cluster, publications are re-synced on every lease
 * renewal and the peers resynced in the background. A network that cannot be restored is logged.
 */
import { errorFields } from '../../../common/log.js';
import type { EndpointRecord } from '../../records.js';
import { short } from '../shared/names.js';
import type { OverlayContext, OverlayNetwork } from './context.js';
import { publication, syncPublished } from './endpoint.js';
import { ensureVxlan, isOurVxlan } from './network.js';

export async function restore(ctx: OverlayContext, nets: OverlayNetwork[], eps: EndpointRecord[]): Promise<void> {
  await ctx.bridge.restore(nets, eps);
  ctx.vnis.clear();
  ctx.published.clear();
  const known = new Set<string>();
  const byId = new Map(nets.map((n) => [n.id, n]));
  for (const net of nets) {
    const { vni, vxlan } = net.config;
    try {
      ctx.vnis.set(vni, net.id);
      known.add(vxlan);
      await ensureVxlan(ctx, net);
      // The kernel keeps its states meanwhile; the ring is read when etcd answers.
      if (net.config.encryption) await ctx.encryption?.attach(vni, net.config.port, net.config.encryption, false);
      await ctx.peers.adopt(vni, vxlan);
    } catch (err) {
      ctx.log.warn('could not restore overlay network', { NetworkID: short(net.id), ...errorFields(err) });
    }
  }
  for (const ep of eps) {
    const net = byId.get(ep.networkId);
    if (net) ctx.published.set(ep.id, publication(ctx, net, ep, ep.mac));
  }
  for (const link of await ctx.kernel.listLinks()) {
    if (isOurVxlan(ctx, link) && !known.has(link.name)) {
      ctx.log.info('removing leftover VXLAN device', { link: link.name });
      await ctx.kernel.deleteLink(link.name).catch((err: unknown) => ctx.log.warn('could not remove leftover link', { link: link.name, ...errorFields(err) }));
    }
  }
  if (ctx.session) {
    if (!ctx.republishHooked) ctx.session.onRenewed(() => syncPublished(ctx));
    ctx.republishHooked = true;
    void ctx.peers.resync();
  }
}
