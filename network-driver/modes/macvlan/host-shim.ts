/**
 * @module `host_access=true`. Linux never passes frames between a parent and its own macvlan children,
 * so a host cannot reach its macvlan containers (docs/tsnet.md "Host access"). The shim is one more macvlan child,
 * in bridge mode, left in the host's namespace: the kernel switches frames between it and the
 * containers inside the parent's macvlan port, never on the wire. It gets an address of its own as a
 * /32 and /128 (so it claims no subnet route and cannot clash with an address the parent already has
 * in the LAN's subnet), and one host route per container address points through it.
 */
import { KernelError } from '../../../common/kernel/errors.js';
import { errorFields } from '../../../common/log.js';
import type { EndpointRecord } from '../../records.js';
import { endpointIps, hostRoute, shimAddresses } from './addressing.js';
import type { MacvlanContext, MacvlanNetwork } from './context.js';
import { shimName } from './names.js';
import type { MacvlanConfig } from './options.js';
import type { ParentLink } from './parent-link.js';

/** Kernel route protocol of routes the kernel adds itself (prefix and link-local routes); never ours. */
const RTPROT_KERNEL = 2;

/**
 * The shim sits on the LAN in the host's namespace: left alone, it would take the LAN router's IPv6
 * advertisements and give the host a default route (and SLAAC addresses) through it. Set before the
 * link comes up. A host without IPv6 has no such key and nothing to fear; that is logged.
 */
async function ignoreRouterAdvertisements(ctx: MacvlanContext, name: string): Promise<void> {
  try {
    await ctx.kernel.ensureSysctl(`net.ipv6.conf.${name}.accept_ra`, '0');
  } catch (err) {
    if (!(err instanceof KernelError)) throw err;
    ctx.log.warn('could not turn off IPv6 router advertisements on the host shim', { link: name, ...errorFields(err) });
  }
}

/**
 * Makes the network's shim on `parent` (MTU of the parent, IPv6 router advertisements ignored, up) with
 * its addresses ({@link shimAddresses}).
 * Idempotent. A failure after the link was made removes it again.
 * @throws InvalidRequestError for an unusable host address; KernelError when the kernel refuses.
 */
export async function setupShim(ctx: MacvlanContext, net: MacvlanNetwork, cfg: MacvlanConfig, parent: ParentLink): Promise<void> {
  const name = shimName(ctx.tag, net.id);
  const addresses = shimAddresses(net, cfg);
  await ctx.kernel.ensureMacvlan(name, parent.name, 'bridge', { mtu: parent.mtu, up: false });
  try {
    await ignoreRouterAdvertisements(ctx, name);
    for (const ip of addresses) await ctx.kernel.ensureAddress(name, hostRoute(ip));
    await ctx.kernel.setUp(name);
  } catch (err) {
    await ctx.kernel.deleteLink(name).catch(() => undefined);
    throw err;
  }
}

/** Removes the network's shim, and with it its addresses and routes. Idempotent. */
export async function teardownShim(ctx: MacvlanContext, net: MacvlanNetwork): Promise<void> {
  await ctx.kernel.deleteLink(shimName(ctx.tag, net.id));
}

/** Routes the endpoint's addresses through the network's shim. Idempotent. */
export async function addHostRoutes(ctx: MacvlanContext, net: MacvlanNetwork, ep: EndpointRecord): Promise<void> {
  for (const ip of endpointIps(ep)) await ctx.kernel.ensureRoute({ dst: hostRoute(ip), dev: shimName(ctx.tag, net.id) });
}

/** Removes the endpoint's host routes. Idempotent: routes (or the shim) already gone are fine. */
export async function removeHostRoutes(ctx: MacvlanContext, net: MacvlanNetwork, ep: EndpointRecord): Promise<void> {
  for (const ip of endpointIps(ep)) await ctx.kernel.deleteRoute({ dst: hostRoute(ip), dev: shimName(ctx.tag, net.id) });
}

/** Removes host routes through the shim that lead to no endpoint of `eps` (left by a crash between steps). */
export async function pruneHostRoutes(ctx: MacvlanContext, net: MacvlanNetwork, eps: readonly EndpointRecord[]): Promise<void> {
  const dev = shimName(ctx.tag, net.id);
  const wanted = new Set(eps.flatMap((e) => endpointIps(e).map(hostRoute)));
  const stale = (await ctx.kernel.listRoutes()).filter(
    (r) => r.dev === dev && r.protocol !== RTPROT_KERNEL && /\/(32|128)$/.test(r.dst) && !wanted.has(r.dst),
  );
  for (const r of stale) await ctx.kernel.deleteRoute({ dst: r.dst, dev });
}
