/**
 * @module The `TsnetIpam` admin interface implemented over the allocator: listing, inspecting and
 * garbage collection for `tsnet ipam ls|inspect|gc`. Conversion to wire views only; logic lives in
 * ipam/core/allocator.ts.
 */
import { bindInterface, type BoundInterface, type Handlers } from '../../common/protocol/api.js';
import { TsnetIpamSpec, tsnetIpamRequests, type PoolView, type TsnetIpamResponses } from './admin-api.js';
import type { IpamAllocator, PoolSummary } from '../core/allocator.js';

function poolView(s: PoolSummary): PoolView {
  const r = s.record;
  return {
    ID: r.id,
    Space: r.space,
    Subnet: r.pool,
    IPRange: r.subPool ?? '',
    Auto: r.auto,
    Options: r.options,
    Created: r.createdAt,
    Size: String(s.size),
    Used: String(s.used),
    Free: String(s.free),
    Cursor: s.cursor ?? '',
  };
}

/** Binds `TsnetIpam` to `allocator`. */
export function bindIpamAdmin(allocator: IpamAllocator): BoundInterface {
  const impl: Handlers<typeof tsnetIpamRequests, TsnetIpamResponses> = {
    list: async () => ({ Pools: allocator.list().map(poolView) }),
    inspect: async (req) => {
      const { summary, addresses } = await allocator.inspect(req.Pool);
      return {
        Pool: poolView(summary),
        Addresses: addresses.map((a) => ({ Address: a.address, Kind: a.kind, Name: a.name ?? '', MAC: a.mac ?? '', Host: a.host ?? '', Since: a.at })),
      };
    },
    gc: async (req) => {
      const items = await allocator.collect({ subnets: req.Subnets, addresses: req.Addresses }, new Date(req.Before), req.DryRun);
      return { DryRun: req.DryRun, Items: items.map((i) => ({ PoolID: i.poolId, Address: i.address ?? '', Reason: i.reason })) };
    },
  };
  return bindInterface(TsnetIpamSpec, impl);
}
