/**
 * Overlay mode's decisions without a cluster store (a single-host overlay), through the real
 * NetworkDriver (memory store) over a recording fake kernel; and its pure parts (options, definition
 * differences, desired entries). The multi-host behaviour runs against real etcd in
 * overlay.root.test.ts and integration/overlay-multihost.test.ts. No root.
 */
import { PassThrough } from 'node:stream';
import { beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../common/log.js';
import { ConflictError, InvalidRequestError } from '../../../common/protocol/errors.js';
import { networkRequests } from '../../../common/protocol/network-api.js';
import { MemoryStore } from '../../../common/store/memory-store.js';
import { NetworkDriver } from '../../driver.js';
import { createBridgeMode } from '../bridge/bridge-mode.js';
import { definitionDifferences, parseEndpoint, endpointKey, type NetworkDefinition } from './cluster.js';
import { fakeKernel, type FakeKernel } from '../testing/fake-kernel.js';
import { parseOverlayOptions } from './options.js';
import { createOverlayMode, overlayMacFor } from './overlay-mode.js';
import { desiredEntries } from './peers.js';
import { refusal } from '../../../testing/refusal.js';

const NID = '3f2a9c01b7e4d5f60718293a4b5c6d7e8f90112233445566778899aabbccddee';
const NID2 = '77b1e0aa'.padEnd(64, '1');
const EID = 'e1'.padEnd(64, 'a');
const TAG = 'abc123';
const log = createLogger({ stream: new PassThrough() });

let k: FakeKernel;
let store: MemoryStore;
let driver: NetworkDriver;

function restart(): NetworkDriver {
  driver = new NetworkDriver({ modes: [createBridgeMode({ kernel: k, tag: TAG, log }), createOverlayMode({ kernel: k, tag: TAG, log })], store, log });
  return driver;
}

beforeEach(() => {
  k = fakeKernel();
  store = new MemoryStore();
  restart();
});

function createNet(generic: Record<string, string>, id = NID, subnet = '10.20.0.0/24') {
  return driver.createNetwork(
    networkRequests.CreateNetwork.parse({
      NetworkID: id,
      Options: { 'com.docker.network.generic': { mode: 'overlay', ...generic } },
      IPv4Data: [{ AddressSpace: 'LocalDefault', Pool: subnet, Gateway: subnet.replace(/0\/24$/, '1/24') }],
      IPv6Data: [],
    }),
  );
}

describe('options', () => {
  it('needs a vni, and says what it is for', () => {
    expect(() => parseOverlayOptions({})).toThrow(refusal('ERR_INVALID_REQUEST', /needs -o vni=N \(1–16777215\)/));
  });
  it('refuses a VNI out of range or not a number, naming the option', () => {
    expect(() => parseOverlayOptions({ vni: '0' })).toThrow(refusal('ERR_INVALID_REQUEST', /option "vni" must be a whole number from 1 to 16777215, got "0"/));
    expect(() => parseOverlayOptions({ vni: '16777216' })).toThrow(InvalidRequestError);
    expect(() => parseOverlayOptions({ vni: 'x' })).toThrow(refusal('ERR_INVALID_REQUEST', /"vni"/));
  });
  it("accepts Docker's vxlanid_list with one VNI, refuses several", () => {
    expect(parseOverlayOptions({ 'com.docker.network.driver.overlay.vxlanid_list': '4097,4097' })).toEqual({ vni: '4097' });
    expect(() => parseOverlayOptions({ 'com.docker.network.driver.overlay.vxlanid_list': '4097,4098' })).toThrow(refusal('ERR_INVALID_REQUEST', /several VNIs \(4097, 4098\)/));
  });
  it("accepts Docker's MTU option and the bridge options, but not a bridge name", () => {
    expect(parseOverlayOptions({ vni: '7', 'com.docker.network.driver.mtu': '1300', vxlan_port: '8472', icc: 'false' })).toEqual({
      vni: '7',
      'com.docker.network.driver.mtu': '1300',
      vxlan_port: '8472',
      'com.docker.network.bridge.enable_icc': 'false',
    });
    expect(() => parseOverlayOptions({ vni: '7', bridge_name: 'x' })).toThrow(refusal('ERR_INVALID_REQUEST', /unknown option "bridge_name" for mode overlay/));
  });
});

describe('single-host overlay (no --cluster-store)', () => {
  it('makes a bridge and a VXLAN device on it: learning off, ARP proxy on, uplink MTU less 50, UDP 4789', async () => {
    await createNet({ vni: '42' });
    const vx = k.links.get('tsvx-3f2a9c01b7');
    expect(vx).toMatchObject({ kind: 'vxlan', master: 'tsbr-3f2a9c01b7', mtu: 1350, mac: overlayMacFor(TAG), vxlan: { vni: 42, port: 4789, learning: false, proxy: true } });
    expect(k.links.get('tsbr-3f2a9c01b7')).toMatchObject({ kind: 'bridge', mtu: 1350, mac: overlayMacFor(TAG) });
    expect(k.addresses.get('tsbr-3f2a9c01b7')).toEqual(['10.20.0.1/24']);
  });

  it('takes -o mtu and vxlan_port', async () => {
    await createNet({ vni: '42', mtu: '1200', vxlan_port: '8472' });
    expect(k.links.get('tsvx-3f2a9c01b7')).toMatchObject({ mtu: 1200, vxlan: { port: 8472 } });
  });

  it('refuses a second network with the same VNI on this host, and makes nothing for it', async () => {
    await createNet({ vni: '42' });
    await expect(createNet({ vni: '42' }, NID2, '10.21.0.0/24')).rejects.toThrow(ConflictError);
    await expect(createNet({ vni: '42' }, NID2, '10.21.0.0/24')).rejects.toThrow(refusal('ERR_CONFLICT', /vni 42 is already used by network 3f2a9c01b7e4 on this host/));
    expect([...k.links.keys()].filter((n) => n.includes('77b1e0aa'))).toEqual([]);
  });

  it("refuses a VNI another program's VXLAN device uses on the same port", async () => {
    k.links.set('flannel.1', { name: 'flannel.1', index: 99, kind: 'vxlan', mtu: 1450, mac: '0e:00:00:00:00:01', up: true, vxlan: { vni: 42, port: 4789, learning: false, proxy: false } });
    await expect(createNet({ vni: '42' })).rejects.toThrow(refusal('ERR_CONFLICT', /VXLAN vni 42 on UDP port 4789 is already used on this host by interface "flannel.1"/));
    expect(k.links.has('tsbr-3f2a9c01b7')).toBe(false);
  });

  it('removes a leftover VXLAN device of its own with the same VNI instead of failing with "file exists"', async () => {
    k.links.set('tsvx-deadbeef00', { name: 'tsvx-deadbeef00', index: 98, kind: 'vxlan', mtu: 1350, mac: overlayMacFor(TAG), up: true, vxlan: { vni: 42, port: 4789, learning: false, proxy: true } });
    await createNet({ vni: '42' });
    expect(k.links.has('tsvx-deadbeef00')).toBe(false);
    expect(k.links.has('tsvx-3f2a9c01b7')).toBe(true);
  });

  it('joins like a bridge network, and removes everything on delete', async () => {
    await createNet({ vni: '42' });
    const created = await driver.createEndpoint({ NetworkID: NID, EndpointID: EID, Interface: { Address: '10.20.0.2/24', AddressIPv6: '', MacAddress: '' }, Options: {} });
    expect(created).toEqual({ Interface: { MacAddress: '02:42:0a:14:00:02' } });
    const joined = await driver.join({ NetworkID: NID, EndpointID: EID, SandboxKey: '/var/run/docker/netns/x', Options: {} });
    expect(joined).toMatchObject({ Gateway: '10.20.0.1', InterfaceName: { DstPrefix: 'eth' } });
    const info = await driver.endpointOperInfo({ NetworkID: NID, EndpointID: EID });
    expect(info.Value).toMatchObject({ mode: 'overlay', vni: 42, vxlan: 'tsvx-3f2a9c01b7', bridge: 'tsbr-3f2a9c01b7' });
    await driver.leave({ NetworkID: NID, EndpointID: EID });
    await driver.deleteEndpoint({ NetworkID: NID, EndpointID: EID });
    await driver.deleteNetwork({ NetworkID: NID });
    expect([...k.links.keys()]).toEqual(['eth0']);
  });

  it('restore keeps its own devices, removes VXLAN leftovers of its own, and empties stale entries', async () => {
    await createNet({ vni: '42' });
    k.fdb.set('tsvx-3f2a9c01b7 02:42:0a:14:00:09', '192.0.2.9');
    k.neighbors.set('tsvx-3f2a9c01b7 10.20.0.9', '02:42:0a:14:00:09');
    k.links.set('tsvx-0123456789', { name: 'tsvx-0123456789', index: 97, kind: 'vxlan', mtu: 1350, mac: overlayMacFor(TAG), up: true, vxlan: { vni: 43, port: 4789, learning: false, proxy: true } });
    await restart().restore();
    expect(k.links.has('tsvx-3f2a9c01b7')).toBe(true);
    expect(k.links.has('tsbr-3f2a9c01b7')).toBe(true);
    expect(k.links.has('tsvx-0123456789')).toBe(false);
    expect(k.fdb.size + k.neighbors.size).toBe(0);
  });

  it('status names the device, the VNI and that there is no cluster', async () => {
    await createNet({ vni: '42' });
    const [st] = await driver.status();
    expect(st?.mode).toMatchObject({ vni: 42, vxlan: 'tsvx-3f2a9c01b7', port: 4789, cluster: 'none (single host)', peers: [], fdb: [], neighbors: [] });
  });

  it('status without details reads only the records, not the kernel', async () => {
    await createNet({ vni: '42' });
    k.calls.length = 0;
    const [st] = await driver.status('', false);
    expect(st?.net.id).toBe(NID);
    expect(st?.mode).toEqual({});
    expect(k.calls).toEqual([]);
  });
});

describe('cluster records', () => {
  const def: NetworkDefinition = { vni: 42, port: 4789, subnets: ['10.20.0.0/24'], gateways: ['10.20.0.1/24'], internal: false };
  it('names every difference between two definitions', () => {
    expect(definitionDifferences(def, { ...def, subnets: ['10.21.0.0/24'], port: 8472 })).toEqual([
      'VXLAN port: cluster has 4789, this host asked for 8472',
      'subnets: cluster has 10.20.0.0/24, this host asked for 10.21.0.0/24',
    ]);
    expect(definitionDifferences(def, { ...def, mtu: 1300 })).toEqual(['mtu: cluster has not set, this host asked for 1300']);
    expect(definitionDifferences(def, def)).toEqual([]);
  });
  it('reads endpoint keys back', () => {
    const key = endpointKey(42, 'h1', 'e1');
    expect(parseEndpoint({ key, value: JSON.stringify({ vtep: '192.0.2.1', mac: '02:42:0a:14:00:02', ip: '10.20.0.2' }) })).toEqual({
      vni: 42,
      host: 'h1',
      endpointId: 'e1',
      peer: { host: 'h1', endpointId: 'e1', vtep: '192.0.2.1', mac: '02:42:0a:14:00:02', ip: '10.20.0.2' },
    });
    expect(parseEndpoint({ key, value: '' })).toEqual({ vni: 42, host: 'h1', endpointId: 'e1' });
    expect(parseEndpoint({ key: '/tsnet/v1/overlay/endpoints/x', value: '{}' })).toBeUndefined();
  });
  it('programs one FDB entry per MAC and a neighbour per address', () => {
    const e = desiredEntries([
      { host: 'h1', endpointId: 'a', vtep: '192.0.2.1', mac: '02:42:0A:14:00:02', ip: '10.20.0.2', ip6: 'fd00::2' },
      { host: 'h2', endpointId: 'b', vtep: '192.0.2.2', mac: '02:42:0a:14:00:03', ip: '10.20.0.3' },
    ]);
    expect([...e.fdb]).toEqual([['02:42:0a:14:00:02', '192.0.2.1'], ['02:42:0a:14:00:03', '192.0.2.2']]);
    expect([...e.neighbors]).toEqual([['10.20.0.2', '02:42:0a:14:00:02'], ['fd00::2', '02:42:0a:14:00:02'], ['10.20.0.3', '02:42:0a:14:00:03']]);
  });
});
