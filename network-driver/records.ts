/**
 * @module What tsnet persists per network and per endpoint. Versioned (`v`) so a later change of
 * shape is an explicit migration (./migrations.ts, run by the store's format steps). Written before
 * Docker gets an answer; enough to rebuild or remove every kernel object on restart.
 *
 * Network record versions: 1 kept only the `-o` options as strings, which every phase parsed again;
 * 2 adds `config`, the mode's typed configuration, parsed ONCE at CreateNetwork (or by the migration
 * from 1) and handed to the phases as it is. Each mode's config carries its own `v`.
 */
import type { IpamData } from '../common/protocol/network-api.js';

/** A mode's typed, versioned network configuration (each mode's type narrows `v` and adds its fields). */
export interface ModeConfig {
  readonly v: number;
}

/** The current network record version. */
export const NETWORK_RECORD_VERSION = 2;

export interface NetworkRecord<C extends ModeConfig = ModeConfig> {
  v: typeof NETWORK_RECORD_VERSION;
  id: string;
  mode: string;
  /** The normalised `-o` options (what was asked for, in Docker's names), for `tsnet status`; never parsed again. */
  options: Record<string, string>;
  /** The mode's configuration, parsed from `options` and the IPAM data at CreateNetwork. */
  config: C;
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

/** What a mode reads its configuration from: a network record without it. */
export type NetworkFacts = Omit<NetworkRecord, 'v' | 'config'>;

/** Store keys: endpoints sort under their network so one range lists a network's endpoints. */
export const endpointKey = (networkId: string, endpointId: string) => `${networkId}/${endpointId}`;
