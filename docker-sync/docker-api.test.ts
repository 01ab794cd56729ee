/**
 * The parts of the Docker API wrapper that need no dockerd: which networks are inspected, how the list
 * and the inspects are put together, and the request counter (a ping of a socket nobody serves is
 * still a request).
 */
import { randomBytes } from 'node:crypto';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { DockerApi, mayBeOurs, withInspected, type DockerNetwork } from './docker-api.js';

const net = (Id: string, Driver: string, ipam?: string): DockerNetwork => ({
  Id,
  Name: `name-${Id}`,
  Driver,
  IPAM: { ...(ipam !== undefined && { Driver: ipam }), Config: [{ Subnet: '10.9.0.0/24', Gateway: '10.9.0.1' }] },
  Containers: {},
});

describe('mayBeOurs', () => {
  it('picks a network whose driver or IPAM driver is not built into dockerd', () => {
    for (const d of ['bridge', 'host', 'null', 'overlay', 'macvlan', 'ipvlan']) {
      for (const ipam of [undefined, '', 'default', 'null']) expect(mayBeOurs(net('n', d, ipam)), `${d} with IPAM ${ipam}`).toBe(false);
      expect(mayBeOurs(net('n', d, 'tstest1ipam')), `${d} with our IPAM`).toBe(true);
    }
    expect(mayBeOurs(net('n', 'tsnet', 'default'))).toBe(true);
    expect(mayBeOurs({ Driver: 'tsnet' })).toBe(true);
    expect(mayBeOurs({ Driver: 'bridge' })).toBe(false);
  });
});

describe('withInspected', () => {
  it("keeps every listed network's IPAM config, takes the inspect of those that can be ours, drops one removed meanwhile", () => {
    const list = [net('b', 'bridge'), net('t', 'tsnet'), net('i', 'bridge', 'tsipam'), net('gone', 'tsnet')];
    const inspectedT = { ...net('t', 'tsnet'), Containers: { c1: { EndpointID: 'e1', IPv4Address: '10.9.0.2/24' } } };
    const inspectedI = { ...net('i', 'bridge', 'tsipam'), Containers: { c2: { EndpointID: 'e2', IPv4Address: '10.9.0.3/24' } } };
    expect(withInspected(list, [inspectedI, inspectedT])).toEqual([
      { Id: 'b', Name: 'name-b', Driver: 'bridge', IPAM: list[0]!.IPAM },
      inspectedT,
      inspectedI,
    ]);
  });
});

describe('request counter', () => {
  it('counts requests by kind in the given registry, one counter for every client of it', async () => {
    const registry = new Registry();
    const host = `unix:///tmp/tstest-${randomBytes(4).toString('hex')}.sock`;
    const a = new DockerApi(host, { metrics: registry });
    const b = new DockerApi(host, { metrics: registry });
    expect(await a.ping()).toBe(false);
    expect(await b.ping()).toBe(false);
    await expect(a.containerList()).rejects.toThrow();
    const values = (await registry.getSingleMetric('tsnet_dockerd_requests_total')!.get()).values;
    expect(values.map((v) => [v.labels.request, v.value]).sort()).toEqual([
      ['list_containers', 1],
      ['ping', 2],
    ]);
    expect(await new DockerApi(host).ping()).toBe(false);
  });
});
