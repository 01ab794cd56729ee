/**
 * @module Creating and deleting a macvlan network: check (or make) the parent, refuse a parent that
 * cannot be shared, and make the host shim when `host_access=true`. The network itself owns no other
 * kernel object: containers get their own children (endpoint.ts).
 */
import { ConflictError } from '../../../common/protocol/errors.js';
import { short } from '../shared/names.js';
import type { MacvlanContext, MacvlanNetwork } from './context.js';
import { setupShim, teardownShim } from './host-shim.js';
import { isMacvlanModeLink } from './names.js';
import { ensureParent, releaseParent, type ParentLink } from './parent-link.js';

/** Passthru hands the parent to one child: refuse when macvlans tsnet does not know of already hang on it. */
async function checkParentFree(ctx: MacvlanContext, parent: ParentLink): Promise<void> {
  // This instance's children and shims on the parent belong to networks ParentRegistry already weighed.
  const others = (await ctx.kernel.listLinks('')).filter((l) => l.kind === 'macvlan' && l.parent === parent.name && !isMacvlanModeLink(l.name, ctx.tag));
  if (others.length > 0) {
    throw new ConflictError(`parent "${parent.name}" already carries macvlan interfaces (${others.map((l) => l.name).join(', ')}); passthru needs the parent to itself`);
  }
}

/**
 * Checks the parent and makes what the network needs on it. Idempotent (a replay finds it all there).
 * Nothing is left behind on failure.
 * @throws InvalidRequestError for a missing, down or unsuitable parent, or an unusable host address;
 * ConflictError when the parent cannot be shared as asked; UnsupportedError for a VLAN parent
 * without kernel 802.1Q support.
 */
export async function createNetwork(ctx: MacvlanContext, net: MacvlanNetwork): Promise<void> {
  const cfg = net.config;
  ctx.parents.checkShare(net.id, cfg.parent, cfg.mode);
  const parent = await ensureParent(ctx, cfg);
  try {
    if (cfg.mode === 'passthru') await checkParentFree(ctx, parent);
    if (cfg.hostAccess) await setupShim(ctx, net, cfg, parent);
  } catch (err) {
    if (parent.madeVlan) await ctx.kernel.deleteLink(parent.name).catch(() => undefined);
    throw err;
  }
  ctx.parents.add(net.id, cfg.parent, cfg.mode);
  ctx.log.info('macvlan network ready', { NetworkID: short(net.id), parent: parent.name, macvlan_mode: cfg.mode, host_access: cfg.hostAccess });
}

/** Removes the shim and a VLAN sub-interface no other network uses. Idempotent. */
export async function deleteNetwork(ctx: MacvlanContext, net: MacvlanNetwork): Promise<void> {
  const cfg = net.config;
  if (cfg.hostAccess) await teardownShim(ctx, net);
  ctx.parents.remove(net.id);
  await releaseParent(ctx, cfg, net.id);
}
