/**
 * @module Test fixture: the real NetworkDriver with macvlan mode over the in-memory store, plus request
 * builders shaped like dockerd's. {@link macvlanFixture} puts it on the recording fake kernel holding
 * one "NIC" `p0` (MTU 1500, up) and no uplink for unit tests; root tests pass
 * `hostModeKernel({ netns })` and that namespace to {@link driverFixture}. Test-only.
 */
import { PassThrough } from 'node:stream';
import { ipv6Disabled } from '../../../common/kernel/sysctl.js';
import { createLogger } from '../../../common/log.js';
import { networkRequests } from '../../../common/protocol/network-api.js';
import { MemoryStore } from '../../../common/store/memory-store.js';
import { NetworkDriver } from '../../driver.js';
import type { EndpointRecord, NetworkRecord } from '../../records.js';
import type { ModeKernel } from '../kernel.js';
import { createMacvlanMode } from '../macvlan/macvlan-mode.js';
import { fakeKernel } from './fake-kernel.js';

/** The instance tag of fixture drivers: link names read `tsmvbeef…`. */
export const TAG = 'beef';

/** A 64-hex ID starting with `c` repeated (`id('a')`), as dockerd makes them. */
export const id = (c: string): string => c.repeat(64).slice(0, 64);

/** What a fixture network differs in: its ID, IPv6, `--internal`, aux addresses of the IPv4 pool. */
export interface NetworkShape {
  id?: string;
  ipv6?: boolean;
  internal?: boolean;
  aux?: Record<string, string>;
}

/** What a fixture endpoint differs in (CIDRs and MAC as dockerd sends them; default `10.9.8.5/24`, no IPv6, no MAC). */
export interface EndpointShape {
  address?: string;
  addressIpv6?: string;
  mac?: string;
}

/** The subnets a fixture's networks get: IPv4 (and IPv6 when a network asks for it), gateway = first address. */
export interface FixturePools {
  v4: { pool: string; gateway: string };
  v6: { pool: string; gateway: string };
}

const UNIT_POOLS: FixturePools = { v4: { pool: '10.9.8.0/24', gateway: '10.9.8.1' }, v6: { pool: 'fd00:9::/64', gateway: 'fd00:9::1' } };

/** Unit-test fixture over a fake kernel with one NIC, `p0`. */
export function macvlanFixture() {
  const kernel = fakeKernel({ uplink: false });
  kernel.addDevice('p0');
  /** Names of the links now in the fake kernel, sorted. */
  const linkNames = () => [...kernel.links.keys()].sort();
  return Object.assign(driverFixture(kernel), { linkNames });
}

/** The driver and request builders over `kernel`, which acts in `opts.netns` (bound when it was made). */
export function driverFixture<K extends ModeKernel>(kernel: K, opts: { netns?: string; pools?: FixturePools } = {}) {
  const pools = opts.pools ?? UNIT_POOLS;
  const prefix = (pool: string) => pool.split('/')[1];
  const store = new MemoryStore();
  const logs = new PassThrough();
  const log = createLogger({ stream: logs });
  // IPv6 as in the namespace the driver acts in; the fake kernel's world always has it.
  const ipv6Off = opts.netns === undefined ? async () => undefined : () => ipv6Disabled({ netns: opts.netns });
  const newDriver = () =>
    new NetworkDriver({ modes: [createMacvlanMode({ kernel, tag: TAG, log })], store, log, ipv6Disabled: ipv6Off });
  const f = {
    kernel,
    store,
    driver: newDriver(),
    /** A driver over the same store and kernel, as after a plugin restart (not yet restored). */
    restart() {
      f.driver = newDriver();
      return f.driver;
    },
    createNetwork(generic: Record<string, string>, shape: NetworkShape = {}) {
      return f.driver.createNetwork(
        networkRequests.CreateNetwork.parse({
          NetworkID: shape.id ?? id('a'),
          Options: { 'com.docker.network.generic': { mode: 'macvlan', ...generic }, 'com.docker.network.enable_ipv6': shape.ipv6 ?? false, ...(shape.internal ? { 'com.docker.network.internal': true } : {}) },
          IPv4Data: [{ AddressSpace: 'LocalDefault', Pool: pools.v4.pool, Gateway: `${pools.v4.gateway}/${prefix(pools.v4.pool)}`, AuxAddresses: shape.aux ?? {} }],
          IPv6Data: shape.ipv6 ? [{ AddressSpace: 'LocalDefault', Pool: pools.v6.pool, Gateway: `${pools.v6.gateway}/${prefix(pools.v6.pool)}` }] : [],
        }),
      );
    },
    createEndpoint(networkId: string, endpointId: string, shape: EndpointShape = {}) {
      return f.driver.createEndpoint(
        networkRequests.CreateEndpoint.parse({
          NetworkID: networkId,
          EndpointID: endpointId,
          Interface: { Address: shape.address ?? '10.9.8.5/24', AddressIPv6: shape.addressIpv6 ?? '', MacAddress: shape.mac ?? '' },
        }),
      );
    },
    join(networkId: string, endpointId: string) {
      return f.driver.join(networkRequests.Join.parse({ NetworkID: networkId, EndpointID: endpointId, SandboxKey: '/var/run/docker/netns/x', Options: {} }));
    },
    networks: () => store.collection<NetworkRecord>('networks').entries(),
    endpoints: () => store.collection<EndpointRecord>('endpoints').entries(),
    logText: () => String(logs.read() ?? ''),
  };
  return f;
}
