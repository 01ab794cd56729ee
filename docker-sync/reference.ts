/**
 * @module What the reference knows, pure: the networks, endpoints, addresses and volumes in use that
 * Docker (its networks, those that can be ours inspected, and its container list) or engine-lite (its state records) knows. With both, an
 * object known to either is kept, so the two references are merged by union.
 */
import type { ContainerRecord, NetworkRecord } from '../engine-lite/state/records.js';
import type { KnownUse } from '../ipam/core/gc.js';
import { knownUseOf } from '../ipam/admin/docker-view.js';
import { LIVE_STATES, type DockerContainerSummary, type DockerNetwork } from './docker-api.js';

/** Everything a reference knows, by ID (networks, endpoints) or name (volumes). */
export interface Reference {
  networks: Set<string>;
  endpoints: Set<string>;
  /** Subnets and addresses in use, for tsipam's garbage rule (ipam/core/gc.ts). */
  use: KnownUse;
  /** Volumes a running (or paused, or restarting) container mounts. */
  volumesInUse: Set<string>;
}

/**
 * Docker's reference: its networks (endpoints from the `Containers` of those inspected, which are all that
 * can be ours) and its container list (volumes of the live ones).
 */
export function referenceOfDocker(networks: readonly DockerNetwork[], containers: readonly DockerContainerSummary[]): Reference {
  return {
    networks: new Set(networks.map((n) => n.Id)),
    endpoints: new Set(networks.flatMap((n) => Object.values(n.Containers ?? {}).flatMap((e) => (e.EndpointID ? [e.EndpointID] : [])))),
    use: knownUseOf(networks),
    volumesInUse: new Set(
      containers
        .filter((c) => LIVE_STATES.has(c.State))
        .flatMap((c) => c.Mounts.flatMap((m) => (m.Type === 'volume' && m.Name ? [m.Name] : []))),
    ),
  };
}

const addressOf = (cidr: string | undefined) => (cidr ? [cidr.split('/')[0]!] : []);

/**
 * engine-lite's reference, from its records. A record names each plugin-side object before it is made
 * (endpoint IDs, mount IDs), so an object in the making is known; a mount is live while its record
 * holds a mount ID (teardown clears it after Unmount).
 */
export function referenceOfEngineLite(networks: readonly NetworkRecord[], containers: readonly ContainerRecord[]): Reference {
  const attachments = containers.flatMap((c) => c.attachments);
  const pools = networks.flatMap((n) => n.pools);
  return {
    networks: new Set(networks.map((n) => n.id)),
    endpoints: new Set(attachments.flatMap((a) => (a.endpointId ? [a.endpointId] : []))),
    use: {
      subnets: pools.map((p) => p.pool),
      addresses: [
        ...pools.flatMap((p) => [...addressOf(p.gateway), ...Object.values(p.aux).flatMap(addressOf)]),
        ...attachments.flatMap((a) => [...addressOf(a.ipv4), ...addressOf(a.ipv6)]),
      ],
    },
    volumesInUse: new Set(containers.flatMap((c) => c.mounts.flatMap((m) => (m.type === 'volume' && m.mountId !== undefined ? [m.source] : [])))),
  };
}

/** What either reference knows. */
export function unionOf(refs: readonly Reference[]): Reference {
  return {
    networks: new Set(refs.flatMap((r) => [...r.networks])),
    endpoints: new Set(refs.flatMap((r) => [...r.endpoints])),
    use: { subnets: refs.flatMap((r) => r.use.subnets), addresses: refs.flatMap((r) => r.use.addresses) },
    volumesInUse: new Set(refs.flatMap((r) => [...r.volumesInUse])),
  };
}
