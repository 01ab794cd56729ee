/**
 * @module Join / Leave of bridge mode. Join makes the endpoint's veth pair in the host namespace (host
 * end on the bridge, both ends at the bridge's MTU, since dockerd never sets an MTU) and hands the other
 * end to the daemon, which moves it into the container and renames it `<prefix><n>`. Leave changes
 * nothing: the interface is still inside the container then; DeleteEndpoint removes it.
 */
import { NotFoundError } from '../../../common/protocol/errors.js';
import { parseCidr } from '../../../common/addr/parse.js';
import { containsAddress, prefixOfCidr } from '../../../common/addr/prefix.js';
import type { IpamData, JoinResponse } from '../../../common/protocol/network-api.js';
import type { EndpointRecord } from '../../records.js';
import type { BridgeContext } from './context.js';
import { endpointState, stateRecord } from './endpoint-state.js';
import type { BridgeNetwork } from './options.js';
import { internalPortsError, readPortBindings } from './ports.js';
import { short } from '../shared/names.js';

/**
 * The gateway (plain address) of the pool `address` lies in; the first pool's when none matches. With
 * several `--subnet`s of one family, an endpoint must be routed through the gateway of its own subnet.
 */
export function gatewayFor(pools: readonly IpamData[], address: string): string | undefined {
  const ip = parseCidr(address);
  const inPool = (p: IpamData) => {
    const pool = parseCidr(p.Pool);
    return ip !== undefined && pool !== undefined && containsAddress(prefixOfCidr(pool), ip.family, ip.addr);
  };
  const gw = (pools.find((p) => p.Gateway && inPool(p)) ?? pools.find((p) => p.Gateway))?.Gateway;
  return gw?.split('/')[0];
}

/**
 * Makes (or finds) the veth pair and answers with its container end and the gateways. Idempotent.
 * @throws InvalidRequestError when the container publishes ports and the network is internal;
 * NotFoundError when the network's bridge is gone (a restart of the plugin restores it).
 */
export async function join(ctx: BridgeContext, net: BridgeNetwork, ep: EndpointRecord, options: Record<string, unknown> = {}): Promise<{ response: JoinResponse; state: Record<string, unknown> }> {
  const cfg = net.config.bridge;
  // dockerd 20.10 never sends ProgramExternalConnectivity for an internal network, so refuse -p here.
  if (cfg.internal && readPortBindings(options).length > 0) throw internalPortsError(net);
  const bridge = await ctx.kernel.findLink(cfg.bridge);
  if (!bridge) throw new NotFoundError(`bridge "${cfg.bridge}" of network ${short(net.id)} is missing; restart the plugin to restore it`);
  const state = endpointState(ep);
  await ctx.kernel.ensureVethPair(state.hostIf, state.peerIf, { mtu: bridge.mtu, master: cfg.bridge, ...(ep.mac ? { peerMac: ep.mac } : {}) });
  // A container reaching its own published port needs the bridge to send the frame back out of its port.
  if (!cfg.internal) await ctx.kernel.setHairpin(state.hostIf, true);
  const response: JoinResponse = { InterfaceName: { SrcName: state.peerIf, DstPrefix: cfg.ifacePrefix } };
  if (cfg.internal) {
    // No gateway: an internal network has no route out, and dockerd must not add docker_gwbridge either.
    response.DisableGatewayService = true;
  } else {
    const gw4 = ep.address === '' ? undefined : gatewayFor(net.ipv4, ep.address);
    const gw6 = ep.addressIpv6 === '' ? undefined : gatewayFor(net.ipv6, ep.addressIpv6);
    if (gw4) response.Gateway = gw4;
    if (gw6) response.GatewayIPv6 = gw6;
  }
  return { response, state: stateRecord({ ...state, mtu: bridge.mtu }) };
}

/** Leave: nothing to undo yet (the veth is inside the container until dockerd moves it back). */
export async function leave(): Promise<void> {}
