/**
 * @module The contract every {@link NetworkMode} passes, through the real NetworkDriver and the
 * in-memory store, on the one recording fake kernel (./testing/fake-kernel.ts): create and delete are
 * idempotent, so are join and leave; Leave, DeleteEndpoint and RevokeExternalConnectivity of unknown
 * IDs succeed; an unknown option is refused with the list of valid ones and nothing is made; a
 * restarted plugin's restore reproduces the same kernel objects (and rebuilds them after a host
 * reboot); removal leaves no kernel object behind; a network's config is parsed once per process.
 * ./mode.contract.test.ts runs it for every mode; nothing here runs on its own.
 */
import { PassThrough } from 'node:stream';
import { beforeEach, describe, expect, it } from 'vitest';
import { createLogger, type Logger } from '../../../common/log.js';
import { InvalidRequestError } from '../../../common/protocol/errors.js';
import { networkRequests } from '../../../common/protocol/network-api.js';
import { MemoryStore } from '../../../common/store/memory-store.js';
import { NetworkDriver } from '../../driver.js';
import type { NetworkRecord } from '../../records.js';
import type { NetworkMode } from '../mode.js';
import { fakeKernel, interfaceOfSysctl, type FakeKernel } from './fake-kernel.js';

/** One mode under the contract. */
export interface ModeSubject {
  /** The mode's name (`-o mode=`). */
  name: string;
  /** `-o` options of a valid network of the mode (besides `mode`). */
  options: Record<string, string>;
  /** Builds the mode over the kernel seam, as a plugin start does. */
  make(kernel: FakeKernel, log: Logger): NetworkMode;
}

const NET = '3f2a9c01b7e4d5f60718293a4b5c6d7e8f90112233445566778899aabbccddee';
const EP = 'e1'.padEnd(64, 'a');
const OTHER = 'ff'.padEnd(64, '0');

/** The host every mode runs on: an uplink `eth0` with the default route, and a spare NIC `p0` (macvlan's parent). */
function host(): FakeKernel {
  const k = fakeKernel();
  k.addDevice('p0');
  return k;
}

/** Everything a mode can leave in the kernel, without what differs between equal objects (interface indexes). */
function snapshot(k: FakeKernel) {
  const sorted = <T>(m: Map<string, T>) => [...m].sort(([a], [b]) => a.localeCompare(b));
  return {
    links: [...k.links.values()].map(({ index: _index, ...l }) => l).sort((a, b) => a.name.localeCompare(b.name)),
    addresses: sorted(k.addresses).map(([link, cidrs]) => [link, [...cidrs].sort()]),
    routes: k.routes.map((r) => `${r.dst} ${r.dev ?? ''}`).sort(),
    sysctls: sorted(k.sysctls),
    nftTables: sorted(k.nftTables).map(([t, sets]) => [t, sorted(sets).map(([s, els]) => [s, [...els].sort()])]),
    chains: [...k.chains].sort(),
    fdb: sorted(k.fdb),
    neighbors: sorted(k.neighbors),
    xfrm: [...sorted(k.xfrmStates).map(([id]) => `state ${id}`), ...sorted(k.xfrmPolicies).map(([id]) => `policy ${id}`)],
  };
}

/**
 * The kernel objects alone: a snapshot without the host-wide settings (forwarding, br_netfilter's hooks)
 * that modes turn on and, as Docker does, leave on.
 */
function objects(k: FakeKernel) {
  const { sysctls, ...rest } = snapshot(k);
  return { ...rest, sysctls: sysctls.filter(([key]) => interfaceOfSysctl(key) !== undefined) };
}

export function runModeContract(subject: ModeSubject): void {
  describe(`mode ${subject.name} contract`, () => {
    const log = createLogger({ stream: new PassThrough() });
    let k: FakeKernel;
    let store: MemoryStore;
    let driver: NetworkDriver;
    /** Config parses in this "process" (since the last start). */
    let parses: number;

    /** A plugin (re)start over the same store and kernel: a new mode and driver, not yet restored. */
    function start(): NetworkDriver {
      const mode = subject.make(k, log);
      const configure = mode.configure.bind(mode);
      parses = 0;
      mode.configure = (net) => {
        parses++;
        return configure(net);
      };
      driver = new NetworkDriver({ modes: [mode], store, log, ipv6Disabled: async () => undefined });
      return driver;
    }

    beforeEach(() => {
      k = host();
      store = new MemoryStore();
      start();
    });

    const createNetwork = (generic: Record<string, string> = subject.options) =>
      driver.createNetwork(
        networkRequests.CreateNetwork.parse({
          NetworkID: NET,
          Options: { 'com.docker.network.generic': { mode: subject.name, ...generic } },
          IPv4Data: [{ AddressSpace: 'LocalDefault', Pool: '10.9.8.0/24', Gateway: '10.9.8.1/24' }],
          IPv6Data: [],
        }),
      );
    const createEndpoint = () =>
      driver.createEndpoint(networkRequests.CreateEndpoint.parse({ NetworkID: NET, EndpointID: EP, Interface: { Address: '10.9.8.5/24', AddressIPv6: '', MacAddress: '' } }));
    const join = () => driver.join(networkRequests.Join.parse({ NetworkID: NET, EndpointID: EP, SandboxKey: '/var/run/docker/netns/c1', Options: {} }));
    const ref = { NetworkID: NET, EndpointID: EP };
    const networks = () => store.collection<NetworkRecord>('networks').entries();

    it('creates idempotently, and deletes idempotently down to the bare host', async () => {
      const bare = objects(k);
      await createNetwork();
      const made = snapshot(k);
      expect(await networks()).toHaveLength(1);
      await createNetwork();
      expect(snapshot(k)).toEqual(made);
      await driver.deleteNetwork({ NetworkID: NET });
      expect(objects(k)).toEqual(bare);
      await driver.deleteNetwork({ NetworkID: NET });
      expect(objects(k)).toEqual(bare);
      expect(await networks()).toEqual([]);
    });

    it('joins and leaves idempotently', async () => {
      await createNetwork();
      expect(await createEndpoint()).toEqual(await createEndpoint());
      const first = await join();
      const joined = snapshot(k);
      expect(await join()).toEqual(first);
      expect(snapshot(k)).toEqual(joined);
      await driver.leave(ref);
      const left = snapshot(k);
      await driver.leave(ref);
      expect(snapshot(k)).toEqual(left);
    });

    it('answers Leave, DeleteEndpoint and RevokeExternalConnectivity of unknown IDs with success, changing nothing', async () => {
      await createNetwork();
      const before = snapshot(k);
      const changes = k.changes().length;
      for (const r of [{ NetworkID: NET, EndpointID: OTHER }, { NetworkID: OTHER, EndpointID: EP }]) {
        expect(await driver.leave(r)).toEqual({});
        expect(await driver.deleteEndpoint(r)).toEqual({});
        expect(await driver.revokeExternalConnectivity(r)).toEqual({});
      }
      expect(snapshot(k)).toEqual(before);
      expect(k.changes()).toHaveLength(changes);
    });

    it('refuses an unknown option with the list of valid ones, and makes nothing', async () => {
      const mode = subject.make(fakeKernel(), log);
      const err = await createNetwork({ ...subject.options, 'no-such-option': '1' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidRequestError);
      const message = (err as Error).message;
      expect(message).toContain('"no-such-option"');
      for (const name of mode.optionNames) expect(message).toContain(name);
      if (mode.optionNames.length === 0) expect(message).toContain('no options');
      expect(k.changes()).toEqual([]);
      expect(await networks()).toEqual([]);
    });

    it('restores after a plugin restart to the same kernel objects, and rebuilds its network after a host reboot', async () => {
      await createNetwork();
      const network = snapshot(k);
      await createEndpoint();
      await join();
      const joined = snapshot(k);
      await start().restore();
      expect(snapshot(k)).toEqual(joined);
      await driver.leave(ref);
      await driver.deleteEndpoint(ref);
      // A reboot: the kernel has only the host's own devices again.
      k = host();
      await start().restore();
      expect(snapshot(k)).toEqual(network);
    });

    it('removes everything it made: endpoint, then network', async () => {
      const bare = objects(k);
      await createNetwork();
      await createEndpoint();
      await join();
      await driver.leave(ref);
      await driver.deleteEndpoint(ref);
      await driver.deleteNetwork({ NetworkID: NET });
      expect(objects(k)).toEqual(bare);
    });

    it('parses a network config once per network per process, never in later calls or restore', async () => {
      await createNetwork();
      await createNetwork();
      await createEndpoint();
      await join();
      await driver.endpointOperInfo(ref);
      await driver.leave(ref);
      expect(parses).toBe(1);
      await start().restore();
      await createNetwork();
      await createEndpoint();
      await driver.deleteEndpoint(ref);
      await driver.deleteNetwork({ NetworkID: NET });
      expect(parses).toBe(0);
    });
  });
}
