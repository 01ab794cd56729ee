/**
 * The network plugin's store upgrade: a COPY of the `records-v1` fixture (network records v1, written
 * by the suite before records carried their config; see testing/fixture-records-v1.ts) is brought to
 * the current format; every network then has its typed config, endpoints are untouched, and the
 * current driver restores and serves the state on the recording fake kernel without parsing a config
 * again. Records that cannot be upgraded stop the upgrade with the network named, and change nothing.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../common/log.js';
import { networkRequests } from '../common/protocol/network-api.js';
import { migrateStore, storeFormat } from '../common/store/format.js';
import { LevelStore } from '../common/store/level-store.js';
import { MemoryStore } from '../common/store/memory-store.js';
import { NetworkDriver } from './driver.js';
import { NETWORK_MIGRATIONS } from './migrations.js';
import { createBridgeMode } from './modes/bridge/bridge-mode.js';
import { createMacvlanMode } from './modes/macvlan/macvlan-mode.js';
import type { NetworkMode } from './modes/mode.js';
import { createNoneMode } from './modes/none/none-mode.js';
import { createOverlayMode } from './modes/overlay/overlay-mode.js';
import { fakeKernel, type FakeKernel } from './modes/testing/fake-kernel.js';
import type { EndpointRecord, NetworkRecord } from './records.js';
import { FIXTURE } from './testing/fixture-records-v1.js';

const FIXTURE_DIR = fileURLToPath(new URL('./testing/records-v1/network/db', import.meta.url));
const log = createLogger({ stream: new PassThrough() });
const { bridge, overlay, macvlan, none } = FIXTURE.networks;

let dir: string;
let store: LevelStore | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tstest-'));
  await cp(FIXTURE_DIR, join(dir, 'db'), { recursive: true });
});
afterEach(async () => {
  await store?.close();
  store = undefined;
  await rm(dir, { recursive: true, force: true });
});

/** Every mode over `kernel`, each counting its config parses in `parses`. */
function modes(kernel: FakeKernel, parses: { n: number }): NetworkMode[] {
  const all: NetworkMode[] = [
    createNoneMode(),
    createBridgeMode({ kernel, tag: FIXTURE.tag, log }),
    createOverlayMode({ kernel, tag: FIXTURE.tag, log }),
    createMacvlanMode({ kernel, tag: FIXTURE.tag, log }),
  ];
  for (const m of all) {
    const configure = m.configure.bind(m);
    m.configure = (net) => {
      parses.n++;
      return configure(net);
    };
  }
  return all;
}

describe('network records v1 → v2 (store format 3)', () => {
  it('gives every network of the old state its typed config, and leaves endpoints as they were', async () => {
    store = await LevelStore.open(join(dir, 'db'));
    const endpointsBefore = await store.collection<EndpointRecord>('endpoints').entries();
    expect(await storeFormat(store)).toBe(2);
    expect(await migrateStore(store, { what: 'fixture', log, migrations: NETWORK_MIGRATIONS })).toEqual({ from: 2, to: 3 });
    const nets = new Map((await store.collection<NetworkRecord>('networks').entries()).map(([id, n]) => [id, n]));
    expect(nets.size).toBe(4);
    for (const n of nets.values()) expect(n.v).toBe(2);
    expect(nets.get(bridge.id)!.config).toEqual({
      v: 1,
      bridge: { bridge: 'tsbr-b1b1b1b1b1', icc: true, masquerade: true, inhibitIpv4: false, ifacePrefix: 'eth', internal: false, ipv6: false, gateways4: ['10.201.1.1/24'], gateways6: [] },
    });
    expect(nets.get(overlay.id)!.config).toMatchObject({ v: 1, vni: 4711, port: 4789, vxlan: 'tsvx-c1c1c1c1c1', bridge: { bridge: 'tsbr-c1c1c1c1c1' } });
    expect(nets.get(macvlan.id)!.config).toEqual({ v: 1, parent: FIXTURE.parent, mode: 'bridge', hostAccess: true, hostAddresses: [] });
    expect(nets.get(none.id)!.config).toEqual({ v: 1 });
    expect(nets.get(macvlan.id)!.options).toEqual({ parent: FIXTURE.parent, macvlan_mode: 'bridge', host_access: 'true' });
    expect(await store.collection<EndpointRecord>('endpoints').entries()).toEqual(endpointsBefore);
    // Once upgraded, opening again changes nothing.
    expect(await migrateStore(store, { what: 'fixture', log, migrations: NETWORK_MIGRATIONS })).toEqual({ from: 3, to: 3 });
  });

  it('is loaded and served by the current driver, which never parses those configs again', async () => {
    store = await LevelStore.open(join(dir, 'db'));
    await migrateStore(store, { what: 'fixture', log, migrations: NETWORK_MIGRATIONS });
    const k = fakeKernel();
    k.addDevice(FIXTURE.parent);
    const parses = { n: 0 };
    const driver = new NetworkDriver({ modes: modes(k, parses), store, log, ipv6Disabled: async () => undefined });
    await driver.restore();
    expect([...k.links.keys()].filter((n) => n.startsWith('ts')).sort()).toEqual(['tsbr-b1b1b1b1b1', 'tsbr-c1c1c1c1c1', FIXTURE.parent, 'tsmvhf1c5d1d1d1', 'tsvx-c1c1c1c1c1']);
    for (const { id } of Object.values(FIXTURE.networks)) {
      const EndpointID = FIXTURE.endpointOf(id);
      const joined = await driver.join(networkRequests.Join.parse({ NetworkID: id, EndpointID, SandboxKey: FIXTURE.sandboxKey, Options: {} }));
      expect(joined.InterfaceName).toBeDefined();
      await driver.leave({ NetworkID: id, EndpointID });
      await driver.deleteEndpoint({ NetworkID: id, EndpointID });
      await driver.deleteNetwork({ NetworkID: id });
    }
    expect([...k.links.keys()].filter((n) => n.startsWith('ts'))).toEqual([FIXTURE.parent]);
    expect(parses.n).toBe(0);
    driver.close();
  });

  it('stops, naming the network and changing nothing, at a record it cannot upgrade', async () => {
    const memory = new MemoryStore();
    const good = { v: 1, id: 'a'.repeat(64), mode: 'bridge', options: {}, internal: false, enableIpv6: false, ipv4: [], ipv6: [], createdAt: '' };
    const bad = { ...good, id: 'b'.repeat(64), mode: 'ipvlan' };
    await memory.collection('networks').put(good.id, good);
    await memory.collection('networks').put(bad.id, bad);
    await expect(migrateStore(memory, { what: 'test', log, migrations: NETWORK_MIGRATIONS })).rejects.toThrow('network bbbbbbbbbbbb has mode "ipvlan", which this tsnet does not have');
    expect(await storeFormat(memory)).toBe(2);
    expect(await memory.collection('networks').get(good.id)).toEqual(good);
  });
});
