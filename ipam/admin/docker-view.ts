/**
 * @module What Docker knows is in use, for `tsnet ipam gc` and serve's agreement with Docker: the
 * subnets, gateways and aux addresses of every network, and the container addresses of every network
 * that can be ours (a tsipam address is only ever held for one; the wrapper inspects only those), read
 * through the suite's Docker API wrapper. Never called inside a plugin request (dockerd may be waiting on the plugin:
 * docs/plugin-protocol.md §1.6).
 */
import { DockerApi, type DockerNetwork } from '../../docker-sync/docker-api.js';
import type { KnownUse } from '../core/gc.js';

/** The parts of a network gc reads (`Containers` only for the inspected ones). */
export type InspectedNetwork = Pick<DockerNetwork, 'IPAM' | 'Containers'>;

/** Collects subnets and addresses (prefix lengths dropped) from networks. Pure. */
export function knownUseOf(networks: readonly InspectedNetwork[]): KnownUse {
  const subnets: string[] = [];
  const addresses: string[] = [];
  for (const n of networks) {
    for (const c of n.IPAM?.Config ?? []) {
      if (c.Subnet) subnets.push(c.Subnet);
      if (c.Gateway) addresses.push(c.Gateway);
      addresses.push(...Object.values(c.AuxiliaryAddresses ?? {}));
    }
    for (const e of Object.values(n.Containers ?? {})) {
      for (const a of [e.IPv4Address, e.IPv6Address]) if (a) addresses.push(a.split('/')[0]!);
    }
  }
  return { subnets, addresses };
}

/** Reads the networks of the dockerd at `host` (a network removed meanwhile is skipped). */
export async function readDockerUse(host: string): Promise<KnownUse> {
  return knownUseOf(await new DockerApi(host).networks());
}
