/**
 * @module A container's macvlan child: made in CreateEndpoint in the host's namespace (down, with the
 * parent's MTU and the endpoint's MAC), handed to Docker by Join, deleted in DeleteEndpoint once
 * Docker has moved it back (docs/plugin-protocol.md §2.10). With `host_access=true` the endpoint's
 * addresses also get host routes through the shim.
 */
import { KernelError } from '../../../common/kernel/errors.js';
import { isErrno } from '../../../common/kernel/rt-errors.js';
import { ConflictError, InvalidRequestError, PluginError } from '../../../common/protocol/errors.js';
import type { EndpointRecord } from '../../records.js';
import { endpointIps, macFromAddress, shimAddresses } from './addressing.js';
import { short } from '../shared/names.js';
import type { MacvlanContext, MacvlanNetwork } from './context.js';
import { addHostRoutes, removeHostRoutes } from './host-shim.js';
import { childName } from './names.js';
import type { MacvlanConfig } from './options.js';
import { findParent, type ParentLink } from './parent-link.js';

/**
 * Makes sure the endpoint's child exists on `parent` in the network's mode, with the parent's MTU and
 * `mac` (none in passthru: the child takes the parent's). Left down: Docker brings it up in the
 * container. Idempotent: an existing child is fixed up.
 * @throws PluginError with the kernel's reason and, for EINVAL, the passthru rule that usually causes it.
 */
export async function ensureChild(ctx: MacvlanContext, ep: EndpointRecord, cfg: MacvlanConfig, parent: ParentLink, mac: string | undefined): Promise<string> {
  const name = childName(ctx.tag, ep.id);
  try {
    await ctx.kernel.ensureMacvlan(name, parent.name, cfg.mode, { mtu: parent.mtu, up: false, ...(mac ? { mac } : {}) });
  } catch (err) {
    if (!(err instanceof KernelError)) throw err;
    const hint = isErrno(err, 'EINVAL') ? ' (a passthru macvlan must be alone on its parent: one holds it, or others are on it)' : '';
    throw new PluginError(`cannot attach endpoint ${short(ep.id)} to parent "${parent.name}": ${err.message}${hint}`, { cause: err });
  }
  return name;
}

/** Refuses an endpoint whose address is the host shim's (IPAM did not know it was taken). */
function checkNotShimAddress(net: MacvlanNetwork, ep: EndpointRecord, cfg: MacvlanConfig): void {
  if (!cfg.hostAccess) return;
  const shim = shimAddresses(net, cfg);
  const clash = endpointIps(ep).find((ip) => shim.includes(ip));
  if (clash !== undefined) {
    throw new ConflictError(`address ${clash} is the host shim's address on network ${short(net.id)}; reserve it in IPAM (--aux-address host=${clash}) so no container gets it`);
  }
}

/**
 * Makes the endpoint's child (and host routes). Returns the MAC it chose when Docker gave none.
 * Nothing is left behind on failure.
 * @throws InvalidRequestError for a MAC on a passthru network; ConflictError for a second endpoint on a
 * passthru network or an address that is the shim's; InvalidRequestError when the parent is gone or down.
 */
export async function createEndpoint(ctx: MacvlanContext, net: MacvlanNetwork, ep: EndpointRecord): Promise<{ mac?: string; state: Record<string, unknown> }> {
  const cfg = net.config;
  if (cfg.mode === 'passthru' && ep.mac !== '') {
    throw new InvalidRequestError(`a passthru container takes the parent's MAC address; it cannot also have ${ep.mac}`);
  }
  checkNotShimAddress(net, ep, cfg);
  const parent = await findParent(ctx, cfg);
  ctx.parents.addEndpoint(net.id, ep.id);
  const mac = cfg.mode === 'passthru' ? undefined : ep.mac || macFromAddress(ep);
  try {
    const ifname = await ensureChild(ctx, ep, cfg, parent, mac);
    if (cfg.hostAccess) await addHostRoutes(ctx, net, ep);
    return { ...(ep.mac === '' && mac !== undefined ? { mac } : {}), state: { ifname } };
  } catch (err) {
    await deleteEndpoint(ctx, net, ep).catch(() => undefined);
    throw err;
  }
}

/** Deletes the child (back in the host's namespace by now, or gone with its sandbox) and the host routes. Idempotent. */
export async function deleteEndpoint(ctx: MacvlanContext, net: MacvlanNetwork, ep: EndpointRecord): Promise<void> {
  await ctx.kernel.deleteLink(childName(ctx.tag, ep.id));
  if (net.config.hostAccess) await removeHostRoutes(ctx, net, ep);
  ctx.parents.removeEndpoint(net.id, ep.id);
}
