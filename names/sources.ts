/**
 * @module Where names come from: dockerd (container name, network aliases, short ID, per endpoint,
 * from `GET /containers/{id}/json` through docker-sync's client) and engine-lite (its container
 * records, read by docker-sync's reader). dockerd does not send names to network drivers, so this is
 * the only way to learn them. Each source gives {@link SourceName}s keyed by the endpoint the driver
 * holds; names that are not DNS names are left for the registry to skip (and warn about).
 */
import type { DockerContainer } from '../docker-sync/docker-api.js';
import type { ContainerRecord } from '../engine-lite/state/records.js';
import { plainAddress } from './records.js';

/** The names of one endpoint as a source knows them (raw, not yet checked). */
export interface SourceName {
  networkId: string;
  endpointId: string;
  containerId: string;
  /** Container name first, then aliases, then the short ID. */
  names: string[];
  ipv4?: string;
  ipv6?: string;
}

const SHORT_ID = 12;

function entry(networkId: string, endpointId: string, containerId: string, names: string[], ipv4?: string, ipv6?: string): SourceName {
  return {
    networkId,
    endpointId,
    containerId,
    names: [...new Set([...names, containerId.slice(0, SHORT_ID)])],
    ...(ipv4 !== undefined && { ipv4 }),
    ...(ipv6 !== undefined && { ipv6 }),
  };
}

/** The names of dockerd's running containers, one per endpoint. */
export function namesOfDocker(containers: readonly DockerContainer[]): SourceName[] {
  return containers.flatMap((c) => {
    if (!c.State.Running) return [];
    const name = c.Name.replace(/^\//, '');
    return Object.values(c.NetworkSettings?.Networks ?? {}).flatMap((n) =>
      n.EndpointID && n.NetworkID
        ? [entry(n.NetworkID, n.EndpointID, c.Id, [name, ...(n.Aliases ?? [])], plainAddress(n.IPAddress), plainAddress(n.GlobalIPv6Address))]
        : [],
    );
  });
}

/** The names of engine-lite's containers that have joined a network (running or being started). */
export function namesOfEngineLite(containers: readonly ContainerRecord[]): SourceName[] {
  return containers.flatMap((c) =>
    c.attachments.flatMap((a) => (a.joined && a.endpointId !== '' ? [entry(a.networkId, a.endpointId, c.id, [c.name, ...a.aliases], plainAddress(a.ipv4), plainAddress(a.ipv6))] : [])),
  );
}
