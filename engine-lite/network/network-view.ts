/**
 * @module `network inspect` and `network ls` views, in docker's shapes.
 */
import type { ContainerRecord, NetworkRecord } from '../state/records.js';
import { isRunning } from '../container/status.js';
import { ipOf } from './pools.js';

/** A network as `docker network inspect` shows it, with the running containers attached. */
export function inspectNetwork(net: NetworkRecord, containers: readonly ContainerRecord[]): Record<string, unknown> {
  const attached: Record<string, unknown> = {};
  for (const c of containers) {
    const a = c.attachments.find((x) => x.networkId === net.id && x.endpointCreated);
    if (!a || !isRunning(c)) continue;
    attached[c.id] = { Name: c.name, EndpointID: a.endpointId, MacAddress: a.mac ?? '', IPv4Address: a.ipv4 ?? '', IPv6Address: a.ipv6 ?? '' };
  }
  const config = net.pools.map((p) => ({
    Subnet: p.pool,
    ...(p.subPool ? { IPRange: p.subPool } : {}),
    ...(p.gateway ? { Gateway: ipOf(p.gateway) } : {}),
    ...(Object.keys(p.aux).length > 0 ? { AuxiliaryAddresses: Object.fromEntries(Object.entries(p.aux).map(([k, v]) => [k, ipOf(v)])) } : {}),
  }));
  return {
    Name: net.name,
    Id: net.id,
    Created: net.created,
    Scope: 'local',
    Driver: net.driver,
    EnableIPv6: net.enableIPv6,
    IPAM: { Driver: net.ipam.driver, Options: net.ipam.options, Config: config },
    Internal: net.internal,
    Attachable: net.attachable,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: attached,
    Options: net.options,
    Labels: net.labels,
  };
}
