/**
 * @module The parent link of a macvlan network: find it, check that it can carry macvlan children,
 * and make or remove the VLAN sub-interface that `parent=IFACE.VID` asks for. A link called exactly
 * `parent` is always used as it is (a NIC, a bond, a VLAN link the user made) and never removed.
 */
import { KernelFeatureMissingError } from '../../../common/kernel/errors.js';
import type { LinkInfo } from '../../../common/kernel/link-types.js';
import { InvalidRequestError, UnsupportedError } from '../../../common/protocol/errors.js';
import type { MacvlanContext } from './context.js';
import { isMacvlanModeLink, vlanName } from './names.js';
import type { MacvlanConfig } from './options.js';

/** The link a network's children hang on. */
export interface ParentLink {
  name: string;
  mtu: number;
}

/** Checks that `link` (shown to the user as `shown`) exists, is up and is not one of the suite's own bridges. */
function usable(link: LinkInfo | undefined, shown: string): LinkInfo {
  if (!link) throw new InvalidRequestError(`parent interface "${shown}" does not exist`);
  if (link.kind === 'loopback') throw new InvalidRequestError(`parent "${shown}" is the loopback interface`);
  if (link.kind === 'bridge' && link.name.startsWith('ts')) {
    throw new InvalidRequestError(`parent "${shown}" is a tsnet bridge; attach containers with -o mode=bridge instead, or give a host NIC as parent`);
  }
  if (!link.up) throw new InvalidRequestError(`parent "${shown}" is down; bring it up first (ip link set ${link.name} up)`);
  return link;
}

/** Where the children hang: `parent` itself when such a link exists, else tsnet's VLAN link for `IFACE.VID` (`owned`). */
async function locate(ctx: MacvlanContext, cfg: MacvlanConfig): Promise<{ name: string; link: LinkInfo | undefined; owned: boolean }> {
  if (isMacvlanModeLink(cfg.parent)) throw new InvalidRequestError(`parent "${cfg.parent}" is a link tsnet's macvlan mode made, not a host interface`);
  const own = await ctx.kernel.findLink(cfg.parent);
  if (own || !cfg.vlan) return { name: cfg.parent, link: own, owned: false };
  const name = vlanName(ctx.tag, cfg.vlan.base, cfg.vlan.vid);
  return { name, link: await ctx.kernel.findLink(name), owned: true };
}

/**
 * The network's parent as it is now, checked; makes nothing.
 * @throws InvalidRequestError when it is missing, down, the loopback or a tsnet link.
 */
export async function findParent(ctx: MacvlanContext, cfg: MacvlanConfig): Promise<ParentLink> {
  const at = await locate(ctx, cfg);
  const link = usable(at.link, cfg.parent);
  return { name: link.name, mtu: link.mtu };
}

/**
 * Like {@link findParent}, but for `IFACE.VID` with no such link, first makes the VLAN sub-interface
 * (named by {@link vlanName}) on IFACE; `madeVlan` says this call made it. Idempotent.
 * @throws UnsupportedError when the kernel lacks 802.1Q support; InvalidRequestError as findParent
 * (for IFACE when the VLAN link is to be made).
 */
export async function ensureParent(ctx: MacvlanContext, cfg: MacvlanConfig): Promise<ParentLink & { madeVlan: boolean }> {
  const at = await locate(ctx, cfg);
  const madeVlan = at.owned && !at.link && cfg.vlan !== undefined;
  if (madeVlan && cfg.vlan) {
    const { base, vid } = cfg.vlan;
    usable(await ctx.kernel.findLink(base), base);
    try {
      await ctx.kernel.ensureVlan(at.name, base, vid, { up: true });
    } catch (err) {
      if (!(err instanceof KernelFeatureMissingError)) throw err;
      throw new UnsupportedError(
        `parent "${cfg.parent}" asks for VLAN ${vid} on "${base}", but this kernel has no 802.1Q VLAN support (module 8021q); load it (modprobe 8021q) or give an existing interface as parent`,
        { cause: err },
      );
    }
    ctx.log.info('created VLAN sub-interface', { parent: cfg.parent, link: at.name });
  }
  return { ...(await findParent(ctx, cfg)), madeVlan };
}

/** Removes the VLAN sub-interface tsnet made for the network's parent, unless another network still uses it. Idempotent. */
export async function releaseParent(ctx: MacvlanContext, cfg: MacvlanConfig, networkId: string): Promise<void> {
  if (!cfg.vlan || (await ctx.kernel.findLink(cfg.parent))) return;
  const name = vlanName(ctx.tag, cfg.vlan.base, cfg.vlan.vid);
  if (!ctx.parents.inUse(cfg.parent, networkId)) await ctx.kernel.deleteLink(name);
}
