/**
 * @module The NetworkDriver API (libnetwork remote driver) as dockerd 20.10–29 speaks it; see
 * docs/plugin-protocol.md §2. Requests are validated with these schemas before a driver sees them.
 */
import { z } from 'zod';
import { DOCKER_INTERFACE } from '../plugin.js';
import { bindInterface, defineInterface, type Handlers } from './api.js';
import { cidr, empty, id, optionalCidr, optionalMac, options, sandboxKey, stringOptions } from './fields.js';

const networkRef = { NetworkID: id };
const endpointRef = { NetworkID: id, EndpointID: id };

/** One IPAM pool as CreateNetwork receives it: every address is a CIDR with the pool's length. */
const ipamData = z.object({
  AddressSpace: z.string().default(''),
  Pool: cidr,
  Gateway: optionalCidr,
  AuxAddresses: z
    .record(z.string(), cidr)
    .nullish()
    .transform((o) => o ?? {}),
});

const ipamDataList = z
  .array(ipamData)
  .nullish()
  .transform((l) => l ?? []);

export const networkRequests = {
  GetCapabilities: empty,
  GwAllocCheck: z.object({ Options: options }),
  CreateNetwork: z.object({ ...networkRef, Options: options, IPv4Data: ipamDataList, IPv6Data: ipamDataList }),
  DeleteNetwork: z.object(networkRef),
  AllocateNetwork: z.object({ ...networkRef, Options: stringOptions, IPv4Data: ipamDataList, IPv6Data: ipamDataList }),
  FreeNetwork: z.object(networkRef),
  CreateEndpoint: z.object({
    ...endpointRef,
    Interface: z
      .object({ Address: optionalCidr, AddressIPv6: optionalCidr, MacAddress: optionalMac })
      .nullish()
      .transform((i) => i ?? { Address: '', AddressIPv6: '', MacAddress: '' }),
    Options: options,
  }),
  DeleteEndpoint: z.object(endpointRef),
  EndpointOperInfo: z.object(endpointRef),
  Join: z.object({ ...endpointRef, SandboxKey: sandboxKey, Options: options }),
  Leave: z.object(endpointRef),
  ProgramExternalConnectivity: z.object({ ...endpointRef, Options: options }),
  RevokeExternalConnectivity: z.object(endpointRef),
  DiscoverNew: z.object({ DiscoveryType: z.number().int(), DiscoveryData: z.unknown().optional() }),
  DiscoverDelete: z.object({ DiscoveryType: z.number().int(), DiscoveryData: z.unknown().optional() }),
};

type Req = { [K in keyof typeof networkRequests]: z.output<(typeof networkRequests)[K]> };
export type CreateNetworkRequest = Req['CreateNetwork'];
export type CreateEndpointRequest = Req['CreateEndpoint'];
export type JoinRequest = Req['Join'];
export type EndpointRef = Req['Leave'];
export type IpamData = z.output<typeof ipamData>;

export interface StaticRoute {
  Destination: string;
  /** 0 = via `NextHop`, 1 = on-link (connected). */
  RouteType: 0 | 1;
  NextHop?: string;
}

export interface JoinResponse {
  InterfaceName: { SrcName: string; DstPrefix: string };
  Gateway?: string;
  GatewayIPv6?: string;
  StaticRoutes?: StaticRoute[];
  DisableGatewayService?: boolean;
}

export interface NetworkResponses {
  GetCapabilities: { Scope: 'local' | 'global'; ConnectivityScope: 'local' | 'global'; GwAllocChecker?: boolean };
  GwAllocCheck: { SkipIPv4: boolean; SkipIPv6: boolean };
  CreateNetwork: object;
  DeleteNetwork: object;
  AllocateNetwork: { Options: Record<string, string> };
  FreeNetwork: object;
  /** Only fields that were empty in the request may be filled (dockerd rejects changes). */
  CreateEndpoint: { Interface?: { Address?: string; AddressIPv6?: string; MacAddress?: string } | null };
  DeleteEndpoint: object;
  EndpointOperInfo: { Value: Record<string, unknown> };
  Join: JoinResponse;
  Leave: object;
  ProgramExternalConnectivity: object;
  RevokeExternalConnectivity: object;
  DiscoverNew: object;
  DiscoverDelete: object;
}

export const NetworkDriverSpec = defineInterface(DOCKER_INTERFACE.network, networkRequests);
export type NetworkDriverApi = Handlers<typeof networkRequests, NetworkResponses>;
export const bindNetworkDriver = (impl: NetworkDriverApi) => bindInterface(NetworkDriverSpec, impl);
