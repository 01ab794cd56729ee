import { describe, expect, it } from 'vitest';
import type { LinkInfo, RouteInfo } from '../../../common/kernel/link-types.js';
import { FALLBACK_MTU, uplinkMtu } from './uplink.js';

const link = (name: string, mtu: number): LinkInfo => ({ name, index: 1, kind: 'device', mtu, mac: '02:00:00:00:00:01', up: true });
const route = (family: 4 | 6, dst: string, dev: string, metric?: number): RouteInfo => ({ family, dst, dev, type: 'unicast', table: 254, protocol: 3, scope: 0, ...(metric === undefined ? {} : { metric }) });

function probe(routes: RouteInfo[], links: LinkInfo[]) {
  return {
    listRoutes: async (f: 4 | 6) => routes.filter((r) => r.family === f),
    findLink: async (n: string) => links.find((l) => l.name === n),
  };
}

describe('uplinkMtu', () => {
  it('takes the MTU of the lowest-metric IPv4 default route', async () => {
    const k = probe([route(4, '10.0.0.0/8', 'eth9'), route(4, '0.0.0.0/0', 'wan', 600), route(4, '0.0.0.0/0', 'eth0', 100)], [link('eth0', 1400), link('wan', 9000), link('eth9', 1280)]);
    expect(await uplinkMtu(k)).toBe(1400);
  });

  it('falls back to IPv6, then to Ethernet’s 1500', async () => {
    expect(await uplinkMtu(probe([route(6, '::/0', 'eth1')], [link('eth1', 1450)]))).toBe(1450);
    expect(await uplinkMtu(probe([], []))).toBe(FALLBACK_MTU);
  });
});
