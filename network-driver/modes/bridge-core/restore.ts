/**
 * @module Start-up reconcile of bridge mode: make the kernel match the store. Networks' bridges and
 * settings are ensured again, joined endpoints are re-attached, the firewall is rebuilt whole in one
 * transaction, and this instance's leftovers that no record owns (bridges carrying our MAC, `tsv…` ports
 * of our bridges) are deleted. Other instances' objects are never touched.
 */
import { errorFields } from '../../../common/log.js';
import type { LinkInfo } from '../../../common/kernel/link-types.js';
import type { EndpointRecord } from '../../records.js';
import type { BridgeContext } from './context.js';
import { endpointState, HOST_VETH_PREFIX } from './endpoint-state.js';
import { restoreNetwork } from './network.js';
import { short } from '../shared/names.js';
import type { BridgeConfig, BridgeNetwork } from './options.js';
import { firewallEntry } from './setup-steps.js';


/** Links this instance made that no record owns: bridges with our MAC, and `tsv…` ports of our bridges. */
export function orphanLinks(all: readonly LinkInfo[], bridgeMac: string, knownBridges: ReadonlySet<string>, knownVeths: ReadonlySet<string>): LinkInfo[] {
  const ourBridges = new Set(all.filter((l) => l.kind === 'bridge' && l.mac === bridgeMac).map((l) => l.name));
  const veths = all.filter(
    (l) => l.name.startsWith(HOST_VETH_PREFIX) && l.kind === 'veth' && l.master !== undefined && (ourBridges.has(l.master) || knownBridges.has(l.master)) && !knownVeths.has(l.name),
  );
  // Ports first: deleting a bridge would release them and hide whose they were.
  return [...veths, ...all.filter((l) => ourBridges.has(l.name) && !knownBridges.has(l.name))];
}

/** Re-attaches a joined endpoint whose host veth still exists; one whose container is gone waits for DeleteEndpoint. */
async function restoreEndpoint(ctx: BridgeContext, cfg: BridgeConfig, ep: EndpointRecord): Promise<void> {
  const { hostIf } = endpointState(ep);
  const link = await ctx.kernel.findLink(hostIf);
  if (!link) return;
  if (link.master !== cfg.bridge) await ctx.kernel.setMaster(hostIf, cfg.bridge);
  if (!cfg.internal) await ctx.kernel.setHairpin(hostIf, true);
}

/** Reconciles; failures of single objects are logged and the rest goes on. */
export async function restore(ctx: BridgeContext, nets: BridgeNetwork[], eps: EndpointRecord[]): Promise<void> {
  ctx.bridges.clear();
  ctx.ports.clear();
  const configs = new Map<string, BridgeConfig>(nets.map((net) => [net.id, net.config.bridge]));
  for (const [id, cfg] of configs) ctx.bridges.set(cfg.bridge, id);
  const ports = eps.flatMap((ep) => endpointState(ep).ports ?? []);
  for (const ep of eps) {
    for (const p of endpointState(ep).ports ?? []) {
      const clash = ctx.ports.reserve(p, { networkId: ep.networkId, endpointId: ep.id });
      if (clash) ctx.log.warn('stored port published twice', { EndpointID: short(ep.id), other: short(clash.endpointId), port: p.hostPort });
    }
  }

  const knownVeths = new Set(eps.map((ep) => endpointState(ep).hostIf));
  for (const link of orphanLinks(await ctx.kernel.listLinks(), ctx.bridgeMac, new Set(ctx.bridges.keys()), knownVeths)) {
    ctx.log.info('removing leftover link', { link: link.name, kind: link.kind });
    await ctx.kernel.deleteLink(link.name).catch((err: unknown) => ctx.log.warn('could not remove leftover link', { link: link.name, ...errorFields(err) }));
  }

  for (const net of nets) await restoreNetwork(ctx, net);
  for (const ep of eps) {
    const cfg = configs.get(ep.networkId);
    if (!cfg || ep.sandboxKey === undefined) continue;
    await restoreEndpoint(ctx, cfg, ep).catch((err: unknown) => ctx.log.warn('could not restore endpoint', { EndpointID: short(ep.id), ...errorFields(err) }));
  }
  await ctx.firewall.rebuild([...configs.values()].map(firewallEntry), ports);
}
