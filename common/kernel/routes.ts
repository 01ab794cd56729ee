/**
 * @module Routes, IPv4 and IPv6, in any table: unicast (via a gateway and/or a device),
 * unreachable and blackhole. `netns` absent: our own namespace over netlink; a name: `ip -n NAME`.
 * Every function is idempotent and fails with a KernelError naming the route.
 */
import { assertIfName, type ListRoutesOptions, type NetnsOption, type RouteInfo, type RouteSpec } from './link-types.js';
import { backendFor } from './rt-backend.js';
import { RT_TABLE_MAIN, canonicalIp, formatCidr, parseCidr } from './rt-codec.js';
import { Errno, step, stepIgnoring } from './rt-errors.js';

/** The route with canonical addresses, checked (names, families), and its name for error messages. */
function normalise(route: RouteSpec): [RouteSpec, string] {
  const dst = parseCidr(route.dst);
  const out: RouteSpec = { ...route, dst: formatCidr(dst) };
  if (route.via !== undefined) {
    out.via = canonicalIp(route.via);
    if (out.via.includes(':') !== (dst.family === 6)) throw new Errno('EINVAL', `gateway ${route.via} is not of the family of ${route.dst}`);
  }
  if (route.dev !== undefined) assertIfName(route.dev);
  const words = [route.type && route.type !== 'unicast' ? route.type : '', out.dst, out.via ? `via ${out.via}` : '', route.dev ? `dev ${route.dev}` : ''];
  if (route.table !== undefined && route.table !== RT_TABLE_MAIN) words.push(`table ${route.table}`);
  return [out, `route ${words.filter((w) => w !== '').join(' ')}`];
}

/**
 * Installs `route`. Idempotent: NLM_F_REPLACE, so a route to the same destination (same table and
 * metric) is replaced by this one rather than rejected.
 */
export async function ensureRoute(route: RouteSpec, opts: NetnsOption = {}): Promise<void> {
  const [r, object] = await step(`route ${route.dst}`, 'parse', async () => normalise(route));
  await step(object, 'add', () => backendFor(opts.netns).replaceRoute(r));
}

/** Removes `route` (matching on what it names). Idempotent: a missing route, device or namespace counts as removed. */
export async function deleteRoute(route: RouteSpec, opts: NetnsOption = {}): Promise<void> {
  const [r, object] = await step(`route ${route.dst}`, 'parse', async () => normalise(route));
  await stepIgnoring(object, 'delete', ['ESRCH', 'ENODEV', 'ENONETNS'], () => backendFor(opts.netns).delRoute(r));
}

/** Routes of one table (default main; `all` for every table), both families unless `family` is given. */
export async function listRoutes(opts: ListRoutesOptions = {}): Promise<RouteInfo[]> {
  const table = opts.table ?? RT_TABLE_MAIN;
  const all = await step('routes', 'list', () => backendFor(opts.netns).listRoutes());
  return all.filter((r) => (table === 'all' || r.table === table) && (opts.family === undefined || r.family === opts.family));
}
