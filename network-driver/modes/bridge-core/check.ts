/**
 * @module `tsnet doctor` for bridge mode (and the modes built on it): compares what the records say
 * must exist (a bridge per network with our MAC, its MTU and gateway addresses; a veth per joined
 * endpoint on the right bridge with its MTU; the firewall table's set and map elements for networks
 * and published ports) with what the kernel has, and names this instance's leftovers no record owns.
 * Repair re-makes veths deleted under running containers (restore cannot: it only re-attaches) and
 * removes stray `tsbr-…` bridges; everything else is rebuilt by restore.ts.
 */
import type { Finding } from '../../../common/finding.js';
import { errorFields } from '../../../common/log.js';
import type { AddressInfo, LinkInfo } from '../../../common/kernel/link-types.js';
import type { EndpointRecord } from '../../records.js';
import { short } from '../shared/names.js';
import type { BridgeContext } from './context.js';
import { endpointState } from './endpoint-state.js';
import { expectedElements } from './firewall-plan.js';
import { gatewayFor } from './join-leave.js';
import { BRIDGE_PREFIX, type BridgeConfig, type BridgeNetwork } from './options.js';
import { orphanLinks } from './restore.js';
import { firewallEntry } from './setup-steps.js';

/** MAC prefix every bridge the suite makes carries (`02:74:73:` bridge, `02:74:6f:` overlay, + instance tag). */
export const SUITE_MAC_PREFIX = '02:74:';

const finding = (Object: string, Expected: string, Found: string): Finding => ({ Plugin: 'tsnet', Object, Expected, Found, Fixable: true });

/** Each network with its bridge settings. */
function withSettings(nets: readonly BridgeNetwork[]): Array<[BridgeNetwork, BridgeConfig]> {
  return nets.map((net) => [net, net.config.bridge]);
}

/** The joined endpoints of `nets`, with their network's config. */
function joined(nets: ReadonlyArray<[BridgeNetwork, BridgeConfig]>, eps: readonly EndpointRecord[]): Array<[BridgeNetwork, BridgeConfig, EndpointRecord]> {
  const byId = new Map(nets.map(([net, cfg]) => [net.id, [net, cfg] as const]));
  return eps.flatMap((ep): Array<[BridgeNetwork, BridgeConfig, EndpointRecord]> => {
    const found = byId.get(ep.networkId);
    return found && ep.sandboxKey !== undefined ? [[found[0], found[1], ep]] : [];
  });
}

async function checkNetwork(ctx: BridgeContext, net: BridgeNetwork, cfg: BridgeConfig, link: LinkInfo | undefined, addresses: ReadonlyMap<string, readonly AddressInfo[]>): Promise<Finding[]> {
  const name = `bridge ${cfg.bridge} of network ${short(net.id)}`;
  if (!link) return [finding(name, `a bridge with MAC ${ctx.bridgeMac}`, 'no such link')];
  if (link.kind !== 'bridge' || link.mac !== ctx.bridgeMac) return [finding(name, `a bridge with MAC ${ctx.bridgeMac}`, `a ${link.kind} with MAC ${link.mac}`)];
  const out: Finding[] = [];
  const mtu = cfg.mtu ?? (await ctx.defaultMtu(net.config));
  if (link.mtu !== mtu) out.push(finding(name, `MTU ${mtu}`, `MTU ${link.mtu}`));
  const have = new Set((addresses.get(cfg.bridge) ?? []).map((a) => a.cidr));
  for (const gw of [...(cfg.inhibitIpv4 ? [] : cfg.gateways4), ...cfg.gateways6]) {
    if (!have.has(gw)) out.push(finding(name, `gateway address ${gw}`, have.size === 0 ? 'no addresses' : `only ${[...have].join(', ')}`));
  }
  return out;
}

function checkEndpoint(net: BridgeNetwork, cfg: BridgeConfig, ep: EndpointRecord, link: LinkInfo | undefined): Finding[] {
  const s = endpointState(ep);
  const name = `veth ${s.hostIf} of endpoint ${short(ep.id)} (network ${short(net.id)})`;
  const want = `a veth on ${cfg.bridge}${s.mtu === undefined ? '' : ` with MTU ${s.mtu}`}`;
  if (!link) return [finding(name, want, 'no such link')];
  if (link.kind !== 'veth' || link.master !== cfg.bridge) return [finding(name, want, `a ${link.kind} on ${link.master ?? 'no bridge'}`)];
  if (s.mtu !== undefined && link.mtu !== s.mtu) return [finding(name, want, `MTU ${link.mtu}`)];
  return [];
}

async function checkFirewall(ctx: BridgeContext, nets: ReadonlyArray<[BridgeNetwork, BridgeConfig]>, eps: readonly EndpointRecord[]): Promise<Finding[]> {
  const table = ctx.firewall.names.table;
  const have = await ctx.kernel.nftElements(table);
  if (nets.length === 0) return have ? [finding(`nftables table inet ${table}`, 'no table (no networks)', 'the table')] : [];
  if (!have) return [finding(`nftables table inet ${table}`, `the table with ${nets.length} network(s)`, 'no such table')];
  const want = expectedElements(
    nets.map(([, cfg]) => firewallEntry(cfg)),
    eps.flatMap((ep) => endpointState(ep).ports ?? []),
  );
  const out: Finding[] = [];
  const wanted = new Set(want.map(([set, el]) => `${set}\0${el}`));
  for (const [set, el] of want) {
    if (!(have.get(set) ?? []).includes(el)) out.push(finding(`element "${el}" of nftables ${set} (inet ${table})`, 'present', 'missing'));
  }
  for (const [set, els] of have) {
    for (const el of els) if (!wanted.has(`${set}\0${el}`)) out.push(finding(`element "${el}" of nftables ${set} (inet ${table})`, 'absent (no record owns it)', 'present'));
  }
  return out;
}

/** Every difference between the records of `nets`/`eps` and the kernel, with this instance's unowned links. */
export async function checkBridge(ctx: BridgeContext, nets: readonly BridgeNetwork[], eps: readonly EndpointRecord[]): Promise<Finding[]> {
  const all = await ctx.kernel.listLinks();
  const byName = new Map(all.map((l) => [l.name, l]));
  const addresses = nets.length === 0 ? new Map<string, AddressInfo[]>() : await ctx.kernel.addressesByLink();
  const cfgs = withSettings(nets);
  const out: Finding[] = [];
  for (const [net, cfg] of cfgs) out.push(...(await checkNetwork(ctx, net, cfg, byName.get(cfg.bridge), addresses)));
  for (const [net, cfg, ep] of joined(cfgs, eps)) out.push(...checkEndpoint(net, cfg, ep, byName.get(endpointState(ep).hostIf)));
  const mine = new Set(eps.filter((ep) => cfgs.some(([net]) => net.id === ep.networkId)).map((ep) => endpointState(ep).hostIf));
  for (const link of orphanLinks(all, ctx.bridgeMac, new Set(cfgs.map(([, cfg]) => cfg.bridge)), mine)) {
    out.push(finding(`${link.kind} ${link.name}`, 'absent (no record owns it)', `present${link.master ? ` on ${link.master}` : ''}`));
  }
  out.push(...(await checkFirewall(ctx, cfgs, eps)));
  return out;
}

/** `tsbr-…` bridges that carry no suite MAC: made by someone else, owned by no record of any instance. */
export function strayBridges(all: readonly LinkInfo[]): LinkInfo[] {
  return all.filter((l) => l.kind === 'bridge' && l.name.startsWith(BRIDGE_PREFIX) && !(l.mac ?? '').startsWith(SUITE_MAC_PREFIX));
}

/** Findings for {@link strayBridges}. */
export async function checkStrays(ctx: BridgeContext): Promise<Finding[]> {
  return strayBridges(await ctx.kernel.listLinks()).map((l) => finding(`bridge ${l.name}`, 'absent (a tsbr- bridge no record of any tsnet instance owns)', `present with MAC ${l.mac}`));
}

/**
 * Re-makes the veth of every joined endpoint whose host end is gone (a container loses its interface
 * with it), into the endpoint's sandbox, addressed as Join's answer said. Run after restore (the bridges
 * exist again). A sandbox that is gone is skipped: dockerd's Leave/DeleteEndpoint follow.
 */
export async function replugEndpoints(ctx: BridgeContext, nets: readonly BridgeNetwork[], eps: readonly EndpointRecord[]): Promise<void> {
  for (const [net, cfg, ep] of joined(withSettings(nets), eps)) {
    const s = endpointState(ep);
    if (await ctx.kernel.findLink(s.hostIf)) continue;
    try {
      const bridge = await ctx.kernel.findLink(cfg.bridge);
      if (!bridge) continue;
      await ctx.kernel.ensureVethPair(s.hostIf, s.peerIf, { mtu: s.mtu ?? bridge.mtu, master: cfg.bridge, ...(ep.mac ? { peerMac: ep.mac } : {}) });
      if (!cfg.internal) await ctx.kernel.setHairpin(s.hostIf, true);
      const gateway4 = cfg.internal || ep.address === '' ? undefined : gatewayFor(net.ipv4, ep.address);
      const gateway6 = cfg.internal || ep.addressIpv6 === '' ? undefined : gatewayFor(net.ipv6, ep.addressIpv6);
      const ifname = await ctx.kernel.plugIntoSandbox(ep.sandboxKey!, s.peerIf, {
        prefix: cfg.ifacePrefix,
        mac: ep.mac,
        addresses: [ep.address, ep.addressIpv6].filter((a) => a !== ''),
        ...(gateway4 && { gateway4 }),
        ...(gateway6 && { gateway6 }),
      });
      ctx.log.info('re-made a deleted endpoint interface', { EndpointID: short(ep.id), hostIf: s.hostIf, ifname });
    } catch (err) {
      await ctx.kernel.deleteLink(s.hostIf).catch(() => undefined);
      ctx.log.warn('could not re-make endpoint interface', { EndpointID: short(ep.id), ...errorFields(err) });
    }
  }
}

/** Deletes {@link strayBridges}. */
export async function removeStrays(ctx: BridgeContext): Promise<void> {
  for (const l of strayBridges(await ctx.kernel.listLinks())) {
    ctx.log.info('removing a stray bridge', { link: l.name });
    await ctx.kernel.deleteLink(l.name);
  }
}
