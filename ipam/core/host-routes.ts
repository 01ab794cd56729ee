/**
 * @module The host's routes as prefixes, for skipping busy subnets when tsipam chooses a pool. Reads
 * every table through common/kernel (netlink), never the driver itself. Default routes (/0) are left out:
 * they would block every subnet.
 */
import type { Family } from '../../common/addr/parse.js';
import { listRoutes } from '../../common/kernel/routes.js';
import { parsePrefix, type Prefix } from '../../common/addr/prefix.js';

/** Destinations of the host's `family` routes in all tables, except default routes. */
export async function hostRoutePrefixes(family: Family): Promise<Prefix[]> {
  const routes = await listRoutes({ table: 'all', family });
  return routes.flatMap((r) => {
    const p = parsePrefix(r.dst);
    return p && p.len > 0 ? [p] : [];
  });
}
