/**
 * Endpoint phase (CreateEndpoint, Join, Leave, DeleteEndpoint, EndpointOperInfo) through the real
 * driver over a fake kernel.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, InvalidRequestError } from '../../../common/protocol/errors.js';
import { id, macvlanFixture, TAG } from '../testing/fixture-macvlan-driver.js';
import { childName } from './names.js';
import { refusal } from '../../../testing/refusal.js';

const NET = id('a');
const EP = id('e');
const CHILD = childName(TAG, EP);
let f: ReturnType<typeof macvlanFixture>;
beforeEach(() => {
  f = macvlanFixture();
});

describe('macvlan endpoint', () => {
  it('makes a down child on the parent with the parent MTU and a MAC from the IP, told to Docker once', async () => {
    f.kernel.links.get('p0')!.mtu = 1400;
    await f.createNetwork({ parent: 'p0' });
    expect(await f.createEndpoint(NET, EP)).toEqual({ Interface: { MacAddress: '02:42:0a:09:08:05' } });
    expect(f.kernel.links.get(CHILD)).toMatchObject({ kind: 'macvlan', parent: 'p0', macvlanMode: 'bridge', mtu: 1400, mac: '02:42:0a:09:08:05', up: false });
    // A replayed create must not echo the MAC again: Docker now has it (docs/plugin-protocol.md §2.6).
    expect(await f.createEndpoint(NET, EP, { mac: '02:42:0a:09:08:05' })).toEqual({});
  });

  it('uses the MAC Docker gives without echoing it', async () => {
    await f.createNetwork({ parent: 'p0', macvlan_mode: 'private' });
    expect(await f.createEndpoint(NET, EP, { mac: '02:aa:bb:cc:dd:ee' })).toEqual({});
    expect(f.kernel.links.get(CHILD)).toMatchObject({ macvlanMode: 'private', mac: '02:aa:bb:cc:dd:ee' });
  });

  it('joins with the child as SrcName and the LAN router as gateway, with the parent MTU as it is now', async () => {
    await f.createNetwork({ parent: 'p0' }, { ipv6: true });
    await f.createEndpoint(NET, EP, { addressIpv6: 'fd00:9::5/64' });
    f.kernel.links.get('p0')!.mtu = 9000;
    const joined = await f.join(NET, EP);
    expect(joined).toEqual({
      InterfaceName: { SrcName: CHILD, DstPrefix: 'eth' },
      Gateway: '10.9.8.1',
      GatewayIPv6: 'fd00:9::1',
      DisableGatewayService: true,
    });
    expect(f.kernel.links.get(CHILD)!.mtu).toBe(9000);
    const info = await f.driver.endpointOperInfo({ NetworkID: NET, EndpointID: EP });
    expect(info.Value).toEqual({
      mode: 'macvlan',
      parent: 'p0',
      macvlan_mode: 'bridge',
      interface: CHILD,
      mac: '02:42:0a:09:08:05',
      mtu: 9000,
      gateway: '10.9.8.1',
      gateway_ipv6: 'fd00:9::1',
      host_access: false,
    });
  });

  it('gives no IPv6 gateway to an endpoint without IPv6, and no gateway at all on an internal network', async () => {
    await f.createNetwork({ parent: 'p0' }, { ipv6: true });
    await f.createEndpoint(NET, EP);
    expect((await f.join(NET, EP)).GatewayIPv6).toBeUndefined();
    await f.createNetwork({ parent: 'p0' }, { id: id('b'), internal: true });
    await f.createEndpoint(id('b'), id('f'), { address: '10.9.8.6/24' });
    const joined = await f.join(id('b'), id('f'));
    expect(joined.Gateway).toBeUndefined();
  });

  it('remakes a child that vanished before Join', async () => {
    await f.createNetwork({ parent: 'p0' });
    await f.createEndpoint(NET, EP);
    await f.kernel.deleteLink(CHILD);
    await f.join(NET, EP);
    expect(f.kernel.links.get(CHILD)).toMatchObject({ parent: 'p0', mac: '02:42:0a:09:08:05' });
  });

  it('deletes the child on DeleteEndpoint, idempotently; Leave leaves it to Docker', async () => {
    await f.createNetwork({ parent: 'p0' });
    await f.createEndpoint(NET, EP);
    await f.join(NET, EP);
    await f.driver.leave({ NetworkID: NET, EndpointID: EP });
    expect(f.linkNames()).toContain(CHILD);
    await f.driver.deleteEndpoint({ NetworkID: NET, EndpointID: EP });
    await f.driver.deleteEndpoint({ NetworkID: NET, EndpointID: EP });
    expect(f.linkNames()).toEqual(['p0']);
    expect(await f.endpoints()).toEqual([]);
  });

  it('fails clearly when the parent went down or away since the network was made, storing nothing', async () => {
    await f.createNetwork({ parent: 'p0' });
    f.kernel.links.get('p0')!.up = false;
    await expect(f.createEndpoint(NET, EP)).rejects.toThrow(refusal('ERR_INVALID_REQUEST', /parent "p0" is down/));
    f.kernel.links.delete('p0');
    await expect(f.createEndpoint(NET, EP)).rejects.toThrow(refusal('ERR_INVALID_REQUEST', /parent interface "p0" does not exist/));
    expect(await f.endpoints()).toEqual([]);
  });
});

describe('macvlan endpoint: passthru', () => {
  it('takes the parent MAC, and carries one container', async () => {
    await f.createNetwork({ parent: 'p0', macvlan_mode: 'passthru' });
    expect(await f.createEndpoint(NET, EP)).toEqual({});
    expect(f.kernel.links.get(CHILD)).toMatchObject({ macvlanMode: 'passthru', mac: f.kernel.links.get('p0')!.mac });
    const err = await f.createEndpoint(NET, id('f'), { address: '10.9.8.6/24' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as Error).message).toMatch(/network aaaaaaaaaaaa is passthru: parent "p0" carries one container, and endpoint eeeeeeeeeeee has it/);
    await f.driver.deleteEndpoint({ NetworkID: NET, EndpointID: EP });
    await f.createEndpoint(NET, id('f'), { address: '10.9.8.6/24' });
  });

  it('refuses a MAC address for a passthru container', async () => {
    await f.createNetwork({ parent: 'p0', macvlan_mode: 'passthru' });
    await expect(f.createEndpoint(NET, EP, { mac: '02:aa:bb:cc:dd:ee' })).rejects.toThrow(InvalidRequestError);
  });

  it('explains a kernel refusal caused by a passthru macvlan tsnet does not know of', async () => {
    await f.createNetwork({ parent: 'p0' });
    f.kernel.addDevice('other', { kind: 'macvlan', parent: 'p0', macvlanMode: 'passthru' });
    await expect(f.createEndpoint(NET, EP)).rejects.toThrow(refusal('ERR_PLUGIN', /cannot attach endpoint eeeeeeeeeeee to parent "p0": .*Invalid argument \(a passthru macvlan must be alone/));
    expect(f.linkNames()).toEqual(['other', 'p0']);
  });
});
