/**
 * @module The host's uplink: the interface of its default route, whose MTU is the right default for a
 * container network (Docker's fixed 1500 is wrong on a 1400-byte cloud uplink) and the base an overlay
 * subtracts its encapsulation from. No I/O of its own: the kernel calls are passed in.
 */
import type { LinkInfo, RouteInfo } from '../../../common/kernel/link-types.js';

/** The kernel calls {@link uplinkMtu} needs (satisfied by common/kernel's `links` with the namespace bound). */
export interface UplinkProbe {
  listRoutes(family: 4 | 6): Promise<RouteInfo[]>;
  findLink(name: string): Promise<LinkInfo | undefined>;
}

/** MTU used when the host has no default route to learn one from (Ethernet's). */
export const FALLBACK_MTU = 1500;

const isDefault = (r: RouteInfo) => r.dst === '0.0.0.0/0' || r.dst === '::/0' || r.dst === 'default';

/**
 * The MTU of the device of the preferred (lowest-metric) IPv4 default route, else IPv6's, else
 * {@link FALLBACK_MTU}. Read-only.
 */
export async function uplinkMtu(k: UplinkProbe): Promise<number> {
  for (const family of [4, 6] as const) {
    const routes = (await k.listRoutes(family)).filter((r) => isDefault(r) && r.dev !== undefined && r.type === 'unicast');
    routes.sort((a, b) => (a.metric ?? 0) - (b.metric ?? 0));
    const dev = routes[0]?.dev;
    const link = dev === undefined ? undefined : await k.findLink(dev);
    if (link) return link.mtu;
  }
  return FALLBACK_MTU;
}
