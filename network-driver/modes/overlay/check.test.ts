/**
 * @module Unit tests of `tsnet doctor` for overlay mode on a single-host overlay (no cluster: no peer
 * may have entries), through the real driver over the recording fake kernel: the bridge core's
 * findings on overlay's objects, the VXLAN device's settings, unowned FDB and neighbour entries, and
 * unowned `tsvx-…` devices (this instance's and foreign ones); repair makes the check clean again.
 * Entries that peers call for are checked against real etcd in integration/overlay-doctor.test.ts.
 */
import { PassThrough } from 'node:stream';
import { beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../common/log.js';
import { networkRequests } from '../../../common/protocol/network-api.js';
import { MemoryStore } from '../../../common/store/memory-store.js';
import { NetworkDriver } from '../../driver.js';
import { HOST_VETH_PREFIX, PEER_VETH_PREFIX } from '../bridge-core/endpoint-state.js';
import { nameFromId } from '../shared/names.js';
import { fakeKernel, type FakeKernel } from '../testing/fake-kernel.js';
import { createOverlayMode, overlayMacFor } from './overlay-mode.js';

const NID = '3f2a9c01b7e4d5f60718293a4b5c6d7e8f90112233445566778899aabbccddee';
const EID = 'e1'.padEnd(64, 'a');
const TAG = 'abc123';
const VX = 'tsvx-3f2a9c01b7';
const BR = 'tsbr-3f2a9c01b7';
const VETH = nameFromId(HOST_VETH_PREFIX, EID);
const log = createLogger({ stream: new PassThrough() });

let k: FakeKernel;
let driver: NetworkDriver;

beforeEach(async () => {
  k = fakeKernel();
  driver = new NetworkDriver({ modes: [createOverlayMode({ kernel: k, tag: TAG, log })], store: new MemoryStore(), log });
  await driver.createNetwork(
    networkRequests.CreateNetwork.parse({
      NetworkID: NID,
      Options: { 'com.docker.network.generic': { mode: 'overlay', vni: '42' } },
      IPv4Data: [{ AddressSpace: 'LocalDefault', Pool: '10.20.0.0/24', Gateway: '10.20.0.1/24' }],
      IPv6Data: [],
    }),
  );
  await driver.createEndpoint(networkRequests.CreateEndpoint.parse({ NetworkID: NID, EndpointID: EID, Interface: { Address: '10.20.0.5/24', AddressIPv6: '', MacAddress: '' }, Options: {} }));
  await driver.join({ NetworkID: NID, EndpointID: EID, SandboxKey: '/var/run/docker/netns/x', Options: {} });
});

const findings = async () => (await driver.check()).map((f) => `${f.Object} | ${f.Expected} | ${f.Found}`);

describe('overlay doctor', () => {
  it('finds nothing on a host that matches the records', async () => {
    expect(k.links.get(VX)?.kind).toBe('vxlan');
    expect(await findings()).toEqual([]);
  });

  it('names a deleted veth, a VXLAN device with the wrong MTU and off its bridge, unowned entries and tsvx- devices', async () => {
    k.links.delete(VETH);
    Object.assign(k.links.get(VX)!, { mtu: 1500, master: undefined });
    await k.ensureFdb(VX, '02:42:0a:14:00:09', '192.0.2.9');
    await k.ensureNeighbor(VX, '10.20.0.9', '02:42:0a:14:00:09');
    await k.ensureVxlan('tsvx-left0ver00', { vni: 43, port: 4789, learning: false, mac: overlayMacFor(TAG) });
    await k.ensureVxlan('tsvx-foreign000', { vni: 44, port: 4789, learning: false, mac: 'aa:bb:cc:00:00:01' });
    expect(await findings()).toEqual([
      `veth ${VETH} of endpoint e1aaaaaaaaaa (network 3f2a9c01b7e4) | a veth on ${BR} with MTU 1350 | no such link`,
      `VXLAN device ${VX} of network 3f2a9c01b7e4 | on bridge ${BR} | on no bridge`,
      `VXLAN device ${VX} of network 3f2a9c01b7e4 | MTU 1350 | MTU 1500`,
      `FDB entry 02:42:0a:14:00:09 on ${VX} (network 3f2a9c01b7e4) | absent (no peer publishes it) | to VTEP 192.0.2.9`,
      `neighbour entry 10.20.0.9 on ${VX} (network 3f2a9c01b7e4) | absent (no peer publishes it) | MAC 02:42:0a:14:00:09`,
      'VXLAN device tsvx-left0ver00 | absent (no record owns it) | present (vni 43)',
      'VXLAN device tsvx-foreign000 | absent (a tsvx- device no record of any tsnet instance owns) | present with MAC aa:bb:cc:00:00:01',
    ]);
  });

  it('names a deleted VXLAN device once (its entries cannot be compared)', async () => {
    await k.deleteLink(VX);
    expect(await findings()).toEqual([`VXLAN device ${VX} of network 3f2a9c01b7e4 | a vxlan device (vni 42, port 4789) on bridge ${BR} | no such link`]);
  });

  it('repair rebuilds the device, empties the unowned entries, re-makes the veth, removes both tsvx- leftovers, then checks clean', async () => {
    k.links.delete(VETH);
    await k.deleteLink(VX);
    await k.ensureVxlan(VX, { vni: 42, port: 4789, learning: false, mac: overlayMacFor(TAG), mtu: 1350, master: BR });
    await k.ensureFdb(VX, '02:42:0a:14:00:09', '192.0.2.9');
    await k.ensureVxlan('tsvx-left0ver00', { vni: 43, port: 4789, learning: false, mac: overlayMacFor(TAG) });
    await k.ensureVxlan('tsvx-foreign000', { vni: 44, port: 4789, learning: false, mac: 'aa:bb:cc:00:00:01' });
    await driver.repair();
    expect(await findings()).toEqual([]);
    expect([...k.links.keys()].filter((n) => n.startsWith('tsvx-'))).toEqual([VX]);
    expect(k.plugged).toEqual([`/var/run/docker/netns/x ${nameFromId(PEER_VETH_PREFIX, EID)}`]);
  });
});
