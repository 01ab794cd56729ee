/**
 * @module CreateEndpoint / DeleteEndpoint / EndpointOperInfo of overlay mode: the bridge core's
 * endpoint, published in etcd (VTEP, MAC, addresses) so other hosts program it; and the sync that puts
 * this host's publications and memberships in etcd exactly as the local records say (start-up, lease
 * renewal, reconnection).
 */
import { formatIp, parseCidr } from '../../../common/addr/parse.js';
import { errorFields } from '../../../common/log.js';
import { ConflictError } from '../../../common/protocol/errors.js';
import type { EndpointRecord } from '../../records.js';
import { short } from '../shared/names.js';
import type { OverlayContext, OverlayNetwork, Publication } from './context.js';

/** Whether etcd holds what this host would publish for an endpoint. */
function samePublication(a: Omit<Publication, 'endpointId'>, b: Omit<Publication, 'endpointId'>): boolean {
  return a.vtep === b.vtep && a.mac === b.mac && a.ip === b.ip && a.ip6 === b.ip6;
}

/** A plain, canonical address from an endpoint's CIDR; undefined for `""`. */
function plainIp(cidr: string): string | undefined {
  const c = parseCidr(cidr);
  return c ? formatIp(c.family, c.addr) : undefined;
}

/** What this host publishes for `ep` (with MAC `epMac`). */
export function publication(ctx: OverlayContext, net: OverlayNetwork, ep: EndpointRecord, epMac: string): { vni: number; ep: Publication } {
  const value: Publication = { endpointId: ep.id, vtep: ctx.vtep ?? '', mac: epMac.toLowerCase() };
  const ip = plainIp(ep.address);
  const ip6 = plainIp(ep.addressIpv6);
  if (ip) value.ip = ip;
  if (ip6) value.ip6 = ip6;
  return { vni: net.config.vni, ep: value };
}

/**
 * The bridge core's endpoint, published. Idempotent.
 * @throws ConflictError when another host's endpoint on the VNI has one of its addresses; EtcdUnavailableError.
 */
export async function createEndpoint(ctx: OverlayContext, net: OverlayNetwork, ep: EndpointRecord): Promise<{ mac?: string; state: Record<string, unknown> }> {
  const { vni } = net.config;
  const made = await ctx.bridge.createEndpoint(net, ep);
  const pub = publication(ctx, net, ep, made.mac ?? ep.mac);
  if (ctx.cluster) {
    const clash = ctx.peers.peersOf(vni).find((p) => (pub.ep.ip !== undefined && p.ip === pub.ep.ip) || (pub.ep.ip6 !== undefined && p.ip6 === pub.ep.ip6));
    if (clash) {
      throw new ConflictError(
        `address ${clash.ip === pub.ep.ip ? pub.ep.ip : pub.ep.ip6} is already used on overlay vni ${vni} by an endpoint of host ${clash.host} (VTEP ${clash.vtep}); use --ipam-driver tsipam --ipam-opt cluster=true so that hosts share one pool`,
      );
    }
    await ctx.cluster.publish(vni, pub.ep);
  }
  ctx.published.set(ep.id, pub);
  return made;
}

/** The bridge core's endpoint removal, then the withdrawal from etcd (retried by the next sync when etcd is away). Idempotent. */
export async function deleteEndpoint(ctx: OverlayContext, net: OverlayNetwork, ep: EndpointRecord): Promise<void> {
  await ctx.bridge.deleteEndpoint(net, ep);
  ctx.published.delete(ep.id);
  await ctx.cluster?.withdraw(net.config.vni, ep.id).catch((err: unknown) => ctx.log.warn('could not withdraw endpoint from etcd; will retry on the next sync', { EndpointID: short(ep.id), ...errorFields(err) }));
}

/** EndpointOperInfo: the bridge core's, plus the segment. From records only. */
export function operInfo(ctx: OverlayContext, net: OverlayNetwork, ep: EndpointRecord): Record<string, unknown> {
  return { ...ctx.bridge.operInfo(net, ep), vni: net.config.vni, vxlan: net.config.vxlan, vtep: ctx.vtep ?? '' };
}

/** Puts this host's endpoints and memberships in etcd exactly as the local records say (start-up, lease renewal). */
export async function syncPublished(ctx: OverlayContext): Promise<void> {
  const { cluster } = ctx;
  if (!cluster) return;
  const { endpoints } = await cluster.allEndpoints();
  const inEtcd = new Map(endpoints.filter((e) => e.host === cluster.hostId).map((e) => [e.endpointId, e]));
  for (const [id, { vni, ep }] of ctx.published) {
    const have = inEtcd.get(id);
    if (!have?.peer || have.vni !== vni || !samePublication(have.peer, ep)) await cluster.publish(vni, ep);
  }
  for (const [id, e] of inEtcd) if (ctx.published.get(id)?.vni !== e.vni) await cluster.withdraw(e.vni, id);
  for (const vni of await cluster.memberships()) if (!ctx.vnis.has(vni)) await cluster.releaseNetwork(vni);
}
