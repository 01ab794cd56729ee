/**
 * @module The IpamDriver interface Docker calls, mapped onto the {@link IpamAllocator}: Docker's wire
 * names in, the allocator's calls out, nothing else. Requests arrive validated (common/protocol).
 */
import type { IpamDriverApi } from '../common/protocol/ipam-api.js';
import type { IpamAllocator } from './allocator.js';
import { ADDRESS_SPACES } from './requests.js';
import { formatPrefix } from './prefix.js';

/**
 * tsipam's capabilities. `RequiresMACAddress`: the daemon then sends each endpoint's MAC with
 * RequestAddress, which `tsnet ipam inspect` shows as the holder on engines that send no endpoint name
 * (before 29). `RequiresRequestReplay` stays false: every pool and address is already durable here, and a
 * replayed RequestPool cannot be told from a second network asking for the same subnet, which must be
 * refused as an overlap. Without replay, dockerd sends nothing for existing networks at start-up.
 */
export const CAPABILITIES = { RequiresMACAddress: true, RequiresRequestReplay: false } as const;

/** The IpamDriver implementation over `allocator`. */
export function createIpamDriver(allocator: IpamAllocator): IpamDriverApi {
  return {
    getCapabilities: async () => ({ ...CAPABILITIES }),
    getDefaultAddressSpaces: async () => ({
      LocalDefaultAddressSpace: ADDRESS_SPACES.local,
      GlobalDefaultAddressSpace: ADDRESS_SPACES.global,
    }),
    requestPool: async (req) => {
      const { id, subnet } = await allocator.requestPool({
        space: req.AddressSpace,
        pool: req.Pool,
        subPool: req.SubPool,
        v6: req.V6,
        options: req.Options,
      });
      return { PoolID: id, Pool: formatPrefix(subnet), Data: {} };
    },
    releasePool: async (req) => {
      await allocator.releasePool(req.PoolID);
      return {};
    },
    requestAddress: async (req) => ({
      Address: await allocator.requestAddress({ poolId: req.PoolID, address: req.Address, options: req.Options }),
      Data: {},
    }),
    releaseAddress: async (req) => {
      await allocator.releaseAddress(req.PoolID, req.Address);
      return {};
    },
  };
}
