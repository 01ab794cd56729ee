/**
 * @module The IpamDriver API; see docs/plugin-protocol.md §3. Failures go out as HTTP 500 with
 * `Err` (a 200 with `Err` would count as success for IPAM).
 */
import { z } from 'zod';
import { DOCKER_INTERFACE } from '../plugin.js';
import { bindInterface, defineInterface, type Handlers } from './api.js';
import { empty, ip, optionalCidr, optionalIp, stringOptions } from './fields.js';

/** Pool IDs are ours (e.g. `LocalDefault/10.20.0.0/24`), so they may contain `/` and `:`. */
const poolId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,200}$/, 'must be a pool ID returned by RequestPool');

export const ipamRequests = {
  GetCapabilities: empty,
  GetDefaultAddressSpaces: empty,
  RequestPool: z.object({
    AddressSpace: z.string().default(''),
    Pool: optionalCidr,
    SubPool: optionalCidr,
    Options: stringOptions,
    V6: z.boolean().default(false),
  }),
  ReleasePool: z.object({ PoolID: poolId }),
  RequestAddress: z.object({ PoolID: poolId, Address: optionalIp, Options: stringOptions }),
  ReleaseAddress: z.object({ PoolID: poolId, Address: ip }),
};

type Req = { [K in keyof typeof ipamRequests]: z.output<(typeof ipamRequests)[K]> };
export type RequestPoolRequest = Req['RequestPool'];
export type RequestAddressRequest = Req['RequestAddress'];
export type ReleaseAddressRequest = Req['ReleaseAddress'];

export interface IpamResponses {
  GetCapabilities: { RequiresMACAddress: boolean; RequiresRequestReplay: boolean };
  GetDefaultAddressSpaces: { LocalDefaultAddressSpace: string; GlobalDefaultAddressSpace: string };
  RequestPool: { PoolID: string; Pool: string; Data: Record<string, string> };
  ReleasePool: object;
  RequestAddress: { Address: string; Data: Record<string, string> };
  ReleaseAddress: object;
}

export const IpamDriverSpec = defineInterface(DOCKER_INTERFACE.ipam, ipamRequests);
export type IpamDriverApi = Handlers<typeof ipamRequests, IpamResponses>;
export const bindIpamDriver = (impl: IpamDriverApi) => bindInterface(IpamDriverSpec, impl);
