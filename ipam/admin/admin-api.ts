/**
 * @module `TsnetIpam`, tsipam's admin interface for the `tsnet ipam` CLI, served on tsipam.sock beside
 * IpamDriver but never advertised to Docker. The CLI cannot open the LevelDB (the running plugin locks
 * it), so it asks the plugin. Counts are decimal strings: an IPv6 pool's size does not fit a JSON number.
 */
import { z } from 'zod';
import { ADMIN_INTERFACE } from '../../common/plugin.js';
import { defineInterface } from '../../common/protocol/api.js';
import { empty } from '../../common/protocol/fields.js';

/** Request schemas of `TsnetIpam`, keyed by method. */
export const tsnetIpamRequests = {
  List: empty,
  /** `Pool`: a pool ID, or a subnet CIDR when only one space has it. */
  Inspect: z.object({ Pool: z.string().min(1, 'must be a pool ID or subnet') }),
  /** What Docker knows (from `docker network inspect`), and the time the CLI started reading it. */
  Gc: z.object({
    Subnets: z.array(z.string()),
    Addresses: z.array(z.string()),
    Before: z.iso.datetime({ message: 'must be an ISO time such as 2025-01-31T12:00:00.000Z' }),
    DryRun: z.boolean(),
  }),
};

/** A pool as `ls` and `inspect` show it. */
export interface PoolView {
  ID: string;
  Space: string;
  Subnet: string;
  /** Sub-pool (`--ip-range`), `""` when none. */
  IPRange: string;
  Auto: boolean;
  Options: Record<string, string>;
  Created: string;
  /** Usable addresses of the subnet. */
  Size: string;
  Used: string;
  /** Addresses next-free can still hand out. */
  Free: string;
  /** Last address handed out by serial next-free, `""` when none. */
  Cursor: string;
}

/** A held address as `inspect` shows it. */
export interface AddressView {
  Address: string;
  Kind: string;
  Name: string;
  MAC: string;
  /** Cluster pools: the host ID that claimed the address; `""` in local pools. */
  Host: string;
  Since: string;
}

/** One thing gc released (or would release); `Address` is `""` for the pool itself. */
export interface GcItemView {
  PoolID: string;
  Address: string;
  Reason: string;
}

/** Replies of `TsnetIpam`, keyed by method. */
export interface TsnetIpamResponses {
  List: { Pools: PoolView[] };
  Inspect: { Pool: PoolView; Addresses: AddressView[] };
  Gc: { DryRun: boolean; Items: GcItemView[] };
}

/** The admin interface, bound by admin.ts and called by cli.ts. */
export const TsnetIpamSpec = defineInterface(ADMIN_INTERFACE.ipam, tsnetIpamRequests);

/** The wire call name of an admin method, e.g. `TsnetIpam.List`. */
export const adminCall = (method: keyof typeof tsnetIpamRequests) => `${TsnetIpamSpec.name}.${method}`;
