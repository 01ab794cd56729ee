/**
 * @module Join hands Docker the endpoint's child and the LAN router as gateway; Leave has nothing to
 * undo (Docker moves the child back, DeleteEndpoint removes it). Also the endpoint's EndpointOperInfo.
 */
import type { JoinResponse } from '../../../common/protocol/network-api.js';
import type { EndpointRecord } from '../../records.js';
import { gatewaysOf, shimAddresses } from './addressing.js';
import type { MacvlanContext, MacvlanNetwork } from './context.js';
import { ensureChild } from './endpoint.js';
import { childName } from './names.js';
import { findParent } from './parent-link.js';

/**
 * Makes sure the child exists with the parent's current MTU (Docker never sets an MTU, §2.8), and
 * answers with it as `SrcName`. The gateway is the LAN's router from IPAM data; no host interface has
 * it. `DisableGatewayService`: the LAN is the way out, Docker must not add a docker_gwbridge leg.
 * An internal network gets no gateway.
 * @throws InvalidRequestError when the parent is gone or down; PluginError when the kernel refuses the child.
 */
export async function join(ctx: MacvlanContext, net: MacvlanNetwork, ep: EndpointRecord): Promise<{ response: JoinResponse; state: Record<string, unknown> }> {
  const cfg = net.config;
  const parent = await findParent(ctx, cfg);
  const ifname = await ensureChild(ctx, ep, cfg, parent, cfg.mode === 'passthru' || ep.mac === '' ? undefined : ep.mac);
  const gw = net.internal ? {} : gatewaysOf(net);
  const response: JoinResponse = { InterfaceName: { SrcName: ifname, DstPrefix: 'eth' }, DisableGatewayService: true };
  if (gw.v4 && ep.address !== '') response.Gateway = gw.v4;
  if (gw.v6 && ep.addressIpv6 !== '') response.GatewayIPv6 = gw.v6;
  return { response, state: { ...ep.state, ifname, mtu: parent.mtu } };
}

/** What `EndpointOperInfo` reports: records only, no kernel call (Docker asks often). */
export function operInfo(ctx: MacvlanContext, net: MacvlanNetwork, ep: EndpointRecord): Record<string, unknown> {
  const cfg = net.config;
  const gw = gatewaysOf(net);
  return {
    parent: cfg.parent,
    macvlan_mode: cfg.mode,
    interface: childName(ctx.tag, ep.id),
    mac: ep.mac,
    ...(typeof ep.state.mtu === 'number' ? { mtu: ep.state.mtu } : {}),
    ...(gw.v4 ? { gateway: gw.v4 } : {}),
    ...(gw.v6 ? { gateway_ipv6: gw.v6 } : {}),
    host_access: cfg.hostAccess,
    ...(cfg.hostAccess ? { host_addresses: shimAddresses(net, cfg) } : {}),
  };
}
