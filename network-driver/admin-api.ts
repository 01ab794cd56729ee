/**
 * @module `TsnetNetwork`, tsnet's admin interface for `tsnet status`, served on tsnet.sock beside
 * NetworkDriver but never advertised to Docker (the CLI cannot open the plugin's locked LevelDB).
 */
import { z } from 'zod';
import type { Finding } from '../common/finding.js';
import { ADMIN_INTERFACE } from '../common/plugin.js';
import { defineInterface } from '../common/protocol/api.js';
import { empty } from '../common/protocol/fields.js';

export const tsnetNetworkRequests = {
  /**
   * `NetworkID`: a network ID or its prefix; `""` for all. `Details: false`: from the records only,
   * without the modes' details (no kernel reads), for callers that poll after every change.
   */
  Status: z.object({ NetworkID: z.string().default(''), Details: z.boolean().default(true) }),
  /** `tsnet doctor`: how the kernel differs from the records. Read-only. */
  Check: empty,
  /** `tsnet doctor --fix`: rebuild what the records describe, remove what no record owns. */
  Repair: empty,
};

/** One endpoint as status shows it. */
export interface EndpointStatusView {
  ID: string;
  Address: string;
  AddressIPv6: string;
  MAC: string;
  Joined: boolean;
  /** Ports published to the host for this endpoint (bridge mode; 0 elsewhere). */
  PublishedPorts: number;
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
  Check: { Findings: Finding[] };
  Repair: object;
}

export const TsnetNetworkSpec = defineInterface(ADMIN_INTERFACE.network, tsnetNetworkRequests);
