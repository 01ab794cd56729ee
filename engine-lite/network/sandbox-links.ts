/**
 * @module What dockerd does in the container's network namespace with a driver's Join answer
 * (docs/plugin-protocol.md §2.8): move `SrcName` in under its new name, set the MAC and addresses, bring
 * it up, add the static routes; point the default routes at the gateway endpoint; and on teardown
 * rename the interface back and return it to the host. All kernel work goes through common/kernel.
 */
import { ensureAddress } from '../../common/kernel/addresses.js';
import { findLink, moveToNetns, setMac, setUp } from '../../common/kernel/links.js';
import { netnsExists } from '../../common/kernel/netns.js';
import { ensureRoute } from '../../common/kernel/routes.js';
import type { StaticRoute } from '../../common/protocol/network-api.js';

/** An interface to set up inside the sandbox. */
export interface SandboxInterface {
  srcName: string;
  ifname: string;
  mac?: string;
  /** CIDRs. */
  addresses: string[];
  routes: StaticRoute[];
}

/** Moves and configures the interface inside `netns`. Each step is idempotent. */
export async function plugInterface(netns: string, i: SandboxInterface): Promise<void> {
  await moveToNetns(i.srcName, netns, { newName: i.ifname });
  if (i.mac) await setMac(i.ifname, i.mac, { netns });
  for (const cidr of i.addresses) await ensureAddress(i.ifname, cidr, { netns, nodad: cidr.includes(':') });
  await setUp(i.ifname, { netns });
  for (const r of i.routes) {
    await ensureRoute(r.RouteType === 0 && r.NextHop ? { dst: r.Destination, via: r.NextHop, dev: i.ifname } : { dst: r.Destination, dev: i.ifname }, { netns });
  }
}

/** Points the container's default route(s) through `ifname`. */
export async function setDefaultRoutes(netns: string, ifname: string, gw: { v4?: string; v6?: string }): Promise<void> {
  if (gw.v4) await ensureRoute({ dst: '0.0.0.0/0', via: gw.v4, dev: ifname }, { netns });
  if (gw.v6) await ensureRoute({ dst: '::/0', via: gw.v6, dev: ifname }, { netns });
}

/**
 * Renames `ifname` back to `srcName` and moves it to this process's namespace, where the driver
 * deletes it in DeleteEndpoint. Idempotent: an interface that is already gone is fine.
 */
export async function unplugInterface(netns: string, ifname: string, srcName: string): Promise<void> {
  if (!(await netnsExists(netns)) || !(await findLink(ifname, { netns }))) return;
  // `ip link set … netns PID` takes a pid for the target: ours is the host side here.
  await moveToNetns(ifname, String(process.pid), { netns, newName: srcName });
}
