/**
 * @module What Docker knows is in use, for `tsnet ipam gc` and serve's agreement with Docker: the
 * subnets of every network and every gateway, aux and container address, read through the suite's
 * Docker API wrapper. Never called inside a plugin request (dockerd may be waiting on the plugin:
 * docs/plugin-protocol.md §1.6).
 */
import { DockerApi, type DockerNetwork } from '../../docker-sync/docker-api.js';
import type { KnownUse } from '../core/gc.js';

/** The parts of an inspected network gc reads. */
export type InspectedNetwork = Pick<DockerNetwork, 'IPAM' | 'Containers'>;

/** Collects subnets and addresses (prefix lengths dropped) from inspected networks. Pure. */
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

/** Reads every network of the dockerd at `host` (a network removed meanwhile is skipped). */
export async function readDockerUse(host: string): Promise<KnownUse> {
  return knownUseOf(await new DockerApi(host).networks());
}
