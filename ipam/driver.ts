/**
 * @module The IpamDriver interface Docker calls, mapped onto the {@link IpamAllocator}: Docker's wire
 * names in, the allocator's calls out, nothing else. Requests arrive validated (common/protocol).
 */
import { InvalidRequestError } from '../common/protocol/errors.js';
import type { IpamDriverApi } from '../common/protocol/ipam-api.js';
import type { IpamAllocator } from './core/allocator.js';
import { ADDRESS_SPACES } from './core/requests.js';
import { formatPrefix } from '../common/addr/prefix.js';

/**
 * tsipam's capabilities. `RequiresMACAddress`: the daemon then sends each endpoint's MAC with
 * RequestAddress, which `tsnet ipam inspect` shows as the holder on engines that send no endpoint name
 * (before 29). `RequiresRequestReplay` stays false: every pool and address is already durable here, and a
 * replayed RequestPool cannot be told from a second network asking for the same subnet, which must be
 * refused as an overlap. Without replay, dockerd sends nothing for existing networks at start-up.
 */
export const CAPABILITIES = { RequiresMACAddress: true, RequiresRequestReplay: false } as const;

/**
 * The IpamDriver implementation over `allocator`. `ipv6Disabled` says why IPv6 cannot be used on this
 * host (undefined: it can); IPv6 pools are then refused before the allocator is asked.
 */
export function createIpamDriver(allocator: IpamAllocator, ipv6Disabled: () => Promise<string | undefined>): IpamDriverApi {
  return {
    getCapabilities: async () => ({ ...CAPABILITIES }),
    getDefaultAddressSpaces: async () => ({
      LocalDefaultAddressSpace: ADDRESS_SPACES.local,
      GlobalDefaultAddressSpace: ADDRESS_SPACES.global,
    }),
    requestPool: async (req) => {
      const noIpv6 = req.V6 ? await ipv6Disabled() : undefined;
      if (noIpv6 !== undefined) throw new InvalidRequestError(`${noIpv6}: tsipam gives no IPv6 pool; create the network without --ipv6, or turn IPv6 on first`);
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
