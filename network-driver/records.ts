/**
 * @module What tsnet persists per network and per endpoint. Versioned (`v`) so a later change of
 * shape is an explicit migration. Written before Docker gets an answer; enough to rebuild or remove
 * every kernel object on restart.
 */
import type { IpamData } from '../common/protocol/network-api.js';

export interface NetworkRecord {
  v: 1;
  id: string;
  mode: string;
  /** The mode's parsed, normalised options (what `-o` asked for, with defaults filled in). */
  options: Record<string, string>;
  internal: boolean;
  enableIpv6: boolean;
  ipv4: IpamData[];
  ipv6: IpamData[];
  createdAt: string;
}

export interface EndpointRecord {
  v: 1;
  networkId: string;
  id: string;
  /** CIDR from IPAM, or "". */
  address: string;
  addressIpv6: string;
  mac: string;
  /** Set between Join and Leave: the sandbox (netns path) the endpoint joined. */
  sandboxKey?: string;
  /** Mode-specific state (interface names, published ports). */
  state: Record<string, unknown>;
}

/** Store keys: endpoints sort under their network so one range lists a network's endpoints. */
export const endpointKey = (networkId: string, endpointId: string) => `${networkId}/${endpointId}`;
