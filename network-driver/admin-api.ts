/**
 * @module `TsnetNetwork`, tsnet's admin interface for `tsnet status`, served on tsnet.sock beside
 * NetworkDriver but never advertised to Docker (the CLI cannot open the plugin's locked LevelDB).
 */
import { z } from 'zod';
import { ADMIN_INTERFACE } from '../common/plugin.js';
import { defineInterface } from '../common/protocol/api.js';

export const tsnetNetworkRequests = {
  /** `NetworkID`: a network ID or its prefix; `""` for all. */
  Status: z.object({ NetworkID: z.string().default('') }),
};

/** One endpoint as status shows it. */
export interface EndpointStatusView {
  ID: string;
  Address: string;
  AddressIPv6: string;
  MAC: string;
  Joined: boolean;
}

/** One network as status shows it; `Mode` holds the mode's own details (overlay: VTEP, peers, entries). */
export interface NetworkStatusView {
  ID: string;
  Mode: string;
  Options: Record<string, string>;
  Subnets: string[];
  Endpoints: EndpointStatusView[];
  Details: Record<string, unknown>;
}

export interface TsnetNetworkResponses {
  Status: { Networks: NetworkStatusView[] };
}

export const TsnetNetworkSpec = defineInterface(ADMIN_INTERFACE.network, tsnetNetworkRequests);
