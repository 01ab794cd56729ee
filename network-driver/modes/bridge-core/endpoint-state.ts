/**
 * @module What bridge mode keeps per endpoint (in `EndpointRecord.state`): its veth names, the MTU it
 * was given and its published ports. Names derive from the endpoint ID, so a record written before Join
 * still knows which interface to delete. Pure.
 */
import type { EndpointRecord } from '../../records.js';
import { nameFromId } from '../shared/names.js';
import type { PortRule } from './firewall-plan.js';
import { LINK_PREFIXES } from '../../../common/names.js';

/** Prefix of the host end of an endpoint's veth pair (a port of the bridge). */
export const HOST_VETH_PREFIX = LINK_PREFIXES.hostVeth;
/** Prefix of the container end while it is still in the host namespace (Docker renames it `eth<n>`). */
export const PEER_VETH_PREFIX = LINK_PREFIXES.peerVeth;

/** A published port as stored: the firewall's mapping. */
export type PublishedPort = PortRule;

export interface BridgeEndpointState {
  hostIf: string;
  peerIf: string;
  /** Set by Join. */
  mtu?: number;
  /** Set by ProgramExternalConnectivity; absent when nothing is published. */
  ports?: PublishedPort[];
}

/** The state of `ep`, with the veth names filled in from its ID when the record predates them. */
export function endpointState(ep: EndpointRecord): BridgeEndpointState {
  const s = ep.state as Partial<BridgeEndpointState>;
  const out: BridgeEndpointState = {
    hostIf: s.hostIf ?? nameFromId(HOST_VETH_PREFIX, ep.id),
    peerIf: s.peerIf ?? nameFromId(PEER_VETH_PREFIX, ep.id),
  };
  if (s.mtu !== undefined) out.mtu = s.mtu;
  if (s.ports !== undefined && s.ports.length > 0) out.ports = s.ports;
  return out;
}

/** The state as the driver stores it. */
export function stateRecord(s: BridgeEndpointState): Record<string, unknown> {
  return { ...s };
}
