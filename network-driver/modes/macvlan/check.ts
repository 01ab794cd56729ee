/**
 * @module `tsnet doctor` for macvlan mode: per network its parent (there and up), its host shim with
 * `host_access=true` (a macvlan on the parent with its addresses, and a host route per container
 * address through it), and each endpoint's child: in the host's namespace before Join, inside its
 * container after (found there by its MAC); plus `tsmv…` links of this instance no record owns.
 * Repair re-makes a child that is gone (in its container, addressed as Join's answer said, when the
 * container still runs); restore.ts rebuilds the parent's VLAN link, the shim and its routes, and
 * removes unowned links.
 */
import type { Finding } from '../../../common/finding.js';
import type { AddressInfo, LinkInfo } from '../../../common/kernel/link-types.js';
import { errorFields } from '../../../common/log.js';
import { InvalidRequestError } from '../../../common/protocol/errors.js';
import type { EndpointRecord } from '../../records.js';
import { short } from '../shared/names.js';
import { endpointIps, gatewaysOf, hostRoute, shimAddresses } from './addressing.js';
import type { MacvlanContext, MacvlanNetwork } from './context.js';
import { ensureChild } from './endpoint.js';
import { childName, isMacvlanModeLink, shimName, vlanName } from './names.js';
import { findParent, type ParentLink } from './parent-link.js';

/** The interface prefix Join gives Docker (`DstPrefix`), so a re-made child is named as Docker named it. */
const CONTAINER_PREFIX = 'eth';

const finding = (Object: string, Expected: string, Found: string, Fixable = true): Finding => ({ Plugin: 'tsnet', Object, Expected, Found, Fixable });

/** The network's parent, or a finding saying why it cannot be used (fixable only for tsnet's own VLAN link). */
async function checkParent(ctx: MacvlanContext, net: MacvlanNetwork): Promise<ParentLink | Finding> {
  try {
    return await findParent(ctx, net.config);
  } catch (err) {
    if (!(err instanceof InvalidRequestError)) throw err;
    return finding(`parent ${net.config.parent} of network ${short(net.id)}`, 'an interface that exists and is up', err.message, net.config.vlan !== undefined);
  }
}

async function checkShim(ctx: MacvlanContext, net: MacvlanNetwork, eps: readonly EndpointRecord[], parent: ParentLink | undefined, link: LinkInfo | undefined, addresses: ReadonlyMap<string, readonly AddressInfo[]>): Promise<Finding[]> {
  const name = shimName(ctx.tag, net.id);
  const obj = `host shim ${name} of network ${short(net.id)}`;
  const want = `a bridge-mode macvlan on ${parent?.name ?? net.config.parent}`;
  if (!link) return [finding(obj, want, 'no such link')];
  if (link.kind !== 'macvlan' || link.macvlanMode !== 'bridge' || (parent && link.parent !== parent.name)) {
    return [finding(obj, want, `a ${link.macvlanMode ?? ''}${link.macvlanMode ? '-mode ' : ''}${link.kind} on ${link.parent ?? 'no parent'}`)];
  }
  const out: Finding[] = [];
  if (!link.up) out.push(finding(obj, 'up', 'down'));
  const have = new Set((addresses.get(name) ?? []).map((a) => a.cidr));
  for (const cidr of shimAddresses(net, net.config).map(hostRoute)) if (!have.has(cidr)) out.push(finding(obj, `address ${cidr}`, have.size === 0 ? 'no addresses' : `only ${[...have].join(', ')}`));
  const routes = new Set((await ctx.kernel.listRoutes()).filter((r) => r.dev === name).map((r) => r.dst));
  for (const ep of eps) {
    for (const dst of endpointIps(ep).map(hostRoute)) if (!routes.has(dst)) out.push(finding(`host route ${dst} (endpoint ${short(ep.id)})`, `via ${name}`, 'missing'));
  }
  return out;
}

/** Whether `links` (a container's) hold the endpoint's child: a macvlan with its MAC (passthru: any macvlan, it has the parent's). */
const holdsChild = (links: readonly LinkInfo[], ep: EndpointRecord) => links.some((l) => l.kind === 'macvlan' && (ep.mac === '' || l.mac === ep.mac.toLowerCase()));

/** The endpoint's child as missing, or undefined when it is where it belongs (or its container is gone: Docker's Leave follows). */
async function childMissing(ctx: MacvlanContext, ep: EndpointRecord, hostLink: LinkInfo | undefined): Promise<'host' | 'container' | undefined> {
  if (hostLink) return undefined;
  if (ep.sandboxKey === undefined) return 'host';
  const inside = await ctx.kernel.sandboxLinks(ep.sandboxKey);
  return inside === undefined || holdsChild(inside, ep) ? undefined : 'container';
}

async function checkChild(ctx: MacvlanContext, net: MacvlanNetwork, ep: EndpointRecord, parent: ParentLink | undefined, hostLink: LinkInfo | undefined): Promise<Finding[]> {
  const name = childName(ctx.tag, ep.id);
  const obj = `macvlan child ${name} of endpoint ${short(ep.id)} (network ${short(net.id)})`;
  const want = `a ${net.config.mode}-mode macvlan on ${parent?.name ?? net.config.parent}`;
  if (hostLink && (hostLink.kind !== 'macvlan' || (parent && hostLink.parent !== parent.name))) return [finding(obj, want, `a ${hostLink.kind} on ${hostLink.parent ?? 'no parent'}`)];
  const missing = await childMissing(ctx, ep, hostLink);
  if (missing === 'host') return [finding(obj, `${want} (not joined yet)`, 'no such link')];
  if (missing === 'container') return [finding(obj, `${want}${ep.mac ? ` with MAC ${ep.mac}` : ''} inside container ${ep.sandboxKey}`, 'no macvlan interface there')];
  return [];
}

/** Every difference between the macvlan records and the kernel, with this instance's unowned `tsmv…` links. */
export async function checkMacvlan(ctx: MacvlanContext, nets: readonly MacvlanNetwork[], eps: readonly EndpointRecord[]): Promise<Finding[]> {
  const all = await ctx.kernel.listLinks();
  const byName = new Map(all.map((l) => [l.name, l]));
  const addresses = nets.some((n) => n.config.hostAccess) ? await ctx.kernel.addressesByLink() : new Map<string, AddressInfo[]>();
  const owned = new Set<string>();
  const out: Finding[] = [];
  for (const net of nets) {
    const cfg = net.config;
    const mine = eps.filter((e) => e.networkId === net.id);
    const p = await checkParent(ctx, net);
    const parent = 'mtu' in p ? p : undefined;
    if (!parent) out.push(p as Finding);
    if (cfg.vlan) owned.add(vlanName(ctx.tag, cfg.vlan.base, cfg.vlan.vid));
    if (cfg.hostAccess) {
      owned.add(shimName(ctx.tag, net.id));
      out.push(...(await checkShim(ctx, net, mine, parent, byName.get(shimName(ctx.tag, net.id)), addresses)));
    }
    for (const ep of mine) {
      owned.add(childName(ctx.tag, ep.id));
      out.push(...(await checkChild(ctx, net, ep, parent, byName.get(childName(ctx.tag, ep.id)))));
    }
  }
  for (const l of all) {
    if (isMacvlanModeLink(l.name, ctx.tag) && !owned.has(l.name)) out.push(finding(`${l.kind} ${l.name}`, 'absent (no record owns it)', `present${l.parent ? ` on ${l.parent}` : ''}`));
  }
  return out;
}

/** Re-makes each endpoint's child that is gone: in the host's namespace before Join, into its running container after. Run after restore. */
export async function repairMacvlan(ctx: MacvlanContext, nets: readonly MacvlanNetwork[], eps: readonly EndpointRecord[]): Promise<void> {
  for (const net of nets) {
    for (const ep of eps.filter((e) => e.networkId === net.id)) {
      const name = childName(ctx.tag, ep.id);
      const missing = await childMissing(ctx, ep, await ctx.kernel.findLink(name));
      if (missing === undefined) continue;
      try {
        const parent = await findParent(ctx, net.config);
        await ensureChild(ctx, ep, net.config, parent, net.config.mode === 'passthru' || ep.mac === '' ? undefined : ep.mac);
        if (missing === 'container') {
          const gw = net.internal ? {} : gatewaysOf(net);
          const ifname = await ctx.kernel.plugIntoSandbox(ep.sandboxKey!, name, {
            prefix: CONTAINER_PREFIX,
            mac: net.config.mode === 'passthru' ? '' : ep.mac,
            addresses: [ep.address, ep.addressIpv6].filter((a) => a !== ''),
            ...(gw.v4 && ep.address !== '' ? { gateway4: gw.v4 } : {}),
            ...(gw.v6 && ep.addressIpv6 !== '' ? { gateway6: gw.v6 } : {}),
          });
          ctx.log.info('re-made a deleted macvlan child', { EndpointID: short(ep.id), ifname });
        }
      } catch (err) {
        if (missing === 'container') await ctx.kernel.deleteLink(name).catch(() => undefined);
        ctx.log.warn('could not re-make macvlan child', { EndpointID: short(ep.id), ...errorFields(err) });
      }
    }
  }
}
