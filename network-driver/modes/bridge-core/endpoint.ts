/**
 * @module CreateEndpoint / DeleteEndpoint / EndpointOperInfo of bridge mode. CreateEndpoint only decides
 * (the MAC, the veth names); the veth is made in Join and deleted here in DeleteEndpoint, because Leave
 * comes while the container end is still inside the container (docs/plugin-protocol.md §2.10).
 */
import type { EndpointRecord } from '../../records.js';
import { macFromIp } from '../shared/mac.js';
import type { BridgeContext } from './context.js';
import { endpointState, stateRecord } from './endpoint-state.js';
import type { BridgeNetwork } from './options.js';
import { revokePorts } from './ports.js';

/**
 * The endpoint's MAC (derived from its IPv4 address, else its IPv6 one, unless Docker gave one) and
 * its initial state. Pure: nothing is made yet.
 */
export function createEndpoint(ep: EndpointRecord): { mac?: string; state: Record<string, unknown> } {
  const state = stateRecord(endpointState(ep));
  const from = ep.address || ep.addressIpv6;
  return ep.mac === '' && from !== '' ? { mac: macFromIp(from), state } : { state };
}

/**
 * Unpublishes the endpoint's ports and starts deleting its veth pair; dockerd does not wait for the
 * kernel's ~20 ms teardown (see background.ts). Idempotent: missing things count as removed.
 */
export async function deleteEndpoint(ctx: BridgeContext, ep: EndpointRecord): Promise<void> {
  const { hostIf } = await revokePorts(ctx, ep);
  ctx.background.start(ep.networkId, `delete veth "${hostIf}"`, () => ctx.kernel.deleteLinkOutOfProcess(hostIf));
}

/** EndpointOperInfo: the host side of the endpoint and what it publishes, from the record alone (cheap). */
export function operInfo(net: BridgeNetwork, ep: EndpointRecord): Record<string, unknown> {
  const s = endpointState(ep);
  const ports = (s.ports ?? []).map((p) => `${p.hostIp || (p.family === 4 ? '0.0.0.0' : '[::]')}:${p.hostPort}->${p.containerPort}/${p.proto}`);
  return { bridge: net.config.bridge.bridge, hostInterface: s.hostIf, ...(s.mtu === undefined ? {} : { mtu: s.mtu }), mac: ep.mac, ports };
}
