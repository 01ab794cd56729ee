/**
 * @module Unit tests of `tsnet doctor` for bridge mode on the recording fake kernel: each kind of drift
 * is found and named, a clean host gives no finding, and repair (restore + re-made veths + strays) makes
 * the check clean again.
 */
import { PassThrough } from 'node:stream';
import { beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../common/log.js';
import { networkRequests } from '../../../common/protocol/network-api.js';
import { MemoryStore } from '../../../common/store/memory-store.js';
import { NetworkDriver } from '../../driver.js';
import { createBridgeMode } from '../bridge/bridge-mode.js';
import { HOST_VETH_PREFIX, PEER_VETH_PREFIX } from './endpoint-state.js';
import { nameFromId } from '../shared/names.js';
import { fakeKernel, type FakeKernel } from '../testing/fake-kernel.js';

const NID = '3f2a9c01b7e4d5f60718293a4b5c6d7e8f90112233445566778899aabbccddee';
const EID = 'e1'.padEnd(64, 'a');
const BRIDGE = 'tsbr-3f2a9c01b7';
const VETH = nameFromId(HOST_VETH_PREFIX, EID);
const PEER = nameFromId(PEER_VETH_PREFIX, EID);
const log = createLogger({ stream: new PassThrough() });

let k: FakeKernel;
let driver: NetworkDriver;

beforeEach(async () => {
  k = fakeKernel();
  driver = new NetworkDriver({ modes: [createBridgeMode({ kernel: k, tag: 'abc123', log })], store: new MemoryStore(), log });
  await driver.createNetwork(
    networkRequests.CreateNetwork.parse({
      NetworkID: NID,
      Options: { 'com.docker.network.generic': {} },
      IPv4Data: [{ AddressSpace: 'LocalDefault', Pool: '10.20.0.0/24', Gateway: '10.20.0.1/24' }],
      IPv6Data: [],
    }),
  );
  await driver.createEndpoint(networkRequests.CreateEndpoint.parse({ NetworkID: NID, EndpointID: EID, Interface: { Address: '10.20.0.5/24', AddressIPv6: '', MacAddress: '' }, Options: {} }));
  await driver.join({ NetworkID: NID, EndpointID: EID, SandboxKey: '/var/run/docker/netns/x', Options: {} });
  const portmap = [{ Proto: 6, IP: '', Port: 80, HostIP: '', HostPort: 8080, HostPortEnd: 8080 }];
  await driver.programExternalConnectivity({ NetworkID: NID, EndpointID: EID, Options: { 'com.docker.network.portmap': portmap } });
});

const objects = async () => (await driver.check()).map((f) => `${f.Object} | ${f.Expected} | ${f.Found}`);

describe('bridge doctor', () => {
  it('finds nothing on a host that matches the records', async () => {
    expect(k.links.get(VETH)).toBeDefined();
    expect(await objects()).toEqual([]);
  });

  it('names a deleted veth, a removed port map element, a lost gateway, a wrong MTU and a stray tsbr- bridge', async () => {
    k.links.delete(VETH);
    k.nftTables.get('tsnet-abc123')!.set('pub4_any', []);
    k.addresses.set(BRIDGE, []);
    k.links.get(BRIDGE)!.mtu = 1300;
    k.links.set('tsbr-stray1', { name: 'tsbr-stray1', index: 99, kind: 'bridge', mtu: 1500, mac: 'aa:bb:cc:00:00:01', up: true });
    expect(await objects()).toEqual([
      `bridge ${BRIDGE} of network 3f2a9c01b7e4 | MTU 1400 | MTU 1300`,
      `bridge ${BRIDGE} of network 3f2a9c01b7e4 | gateway address 10.20.0.1/24 | no addresses`,
      `veth ${VETH} of endpoint e1aaaaaaaaaa (network 3f2a9c01b7e4) | a veth on ${BRIDGE} with MTU 1400 | no such link`,
      'element "tcp . 8080 : 10.20.0.5 . 80" of nftables pub4_any (inet tsnet-abc123) | present | missing',
      'bridge tsbr-stray1 | absent (a tsbr- bridge no record of any tsnet instance owns) | present with MAC aa:bb:cc:00:00:01',
    ]);
  });

  it('names elements and ports of ours no record owns, and a missing table', async () => {
    k.nftTables.get('tsnet-abc123')!.get('pub4_any')!.push('udp . 53 : 10.20.0.9 . 53');
    k.links.set('tsvorphan', { name: 'tsvorphan', index: 98, kind: 'veth', mtu: 1400, mac: '0a:00:00:00:00:09', up: true, master: BRIDGE });
    expect(await objects()).toEqual([
      'veth tsvorphan | absent (no record owns it) | present on tsbr-3f2a9c01b7',
      'element "udp . 53 : 10.20.0.9 . 53" of nftables pub4_any (inet tsnet-abc123) | absent (no record owns it) | present',
    ]);
    k.nftTables.clear();
    expect((await objects()).at(-1)).toBe('nftables table inet tsnet-abc123 | the table with 1 network(s) | no such table');
  });

  it('repair re-makes the veth into its sandbox, rebuilds the table and removes strays, then checks clean', async () => {
    k.links.delete(VETH);
    k.nftTables.get('tsnet-abc123')!.set('pub4_any', []);
    k.addresses.set(BRIDGE, []);
    k.links.set('tsbr-stray1', { name: 'tsbr-stray1', index: 99, kind: 'bridge', mtu: 1500, mac: 'aa:bb:cc:00:00:01', up: true });
    await driver.repair();
    expect(k.plugged).toEqual([`/var/run/docker/netns/x ${PEER}`]);
    expect(k.calls.find((c) => c.startsWith('plugIntoSandbox'))).toMatch(/"prefix":"eth","mac":"[0-9a-f:]{17}","addresses":\["10\.20\.0\.5\/24"\],"gateway4":"10\.20\.0\.1"/);
    expect(k.links.get(VETH)).toMatchObject({ kind: 'veth', master: BRIDGE, mtu: 1400 });
    expect(k.links.has('tsbr-stray1')).toBe(false);
    expect(await objects()).toEqual([]);
  });
});
