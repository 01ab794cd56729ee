/**
 * macvlan mode (through the real driver) against the real kernel, in throwaway namespaces: a "host"
 * namespace holding the parent, one end of a veth pair to a LAN namespace with the router, and one
 * namespace per "container", plumbed as dockerd does with a Join answer (docs/plugin-protocol.md §2.8).
 */
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { ensureAddress, listAddresses } from '../../../common/kernel/addresses.js';
import { deleteLink, ensureMacvlan, findLink, listLinks, moveToNetns, setUp } from '../../../common/kernel/links.js';
import { ensureRoute } from '../../../common/kernel/routes.js';
import { readSysctl } from '../../../common/kernel/sysctl.js';
import { hostModeKernel } from '../kernel.js';
import { driverFixture, TAG } from '../testing/fixture-macvlan-driver.js';
import { skipUnlessIpv6 } from '../../../testing/kernel/ipv6.js';
import { isRoot, makeTestNetns } from '../../../testing/kernel/netns.js';
import { freeSubnets } from '../../../testing/kernel/subnets.js';
import { childName, shimName, vlanName } from './names.js';
import { addressIn, makeTestLan, pings, vlanUnsupportedReason, type TestLan } from '../testing/fixture-lan.js';
import { refusal } from '../../../testing/refusal.js';

const NET = 'a'.repeat(64);
const epId = (c: string) => c.repeat(64);

interface World {
  hostNs: string;
  lan: TestLan;
  v4: string;
  v6: string;
  f: ReturnType<typeof driverFixture>;
}

/** A host namespace, a LAN (parent MTU 1400) with IPv4 and IPv6 subnets, and the driver acting in the host namespace. */
async function world(parentAddress?: number): Promise<World> {
  const hostNs = await makeTestNetns();
  const [v4] = await freeSubnets(1, { family: 4, prefixLen: 24 });
  const [v6] = await freeSubnets(1, { family: 6, prefixLen: 64 });
  const lan = await makeTestLan({
    subnets: [v4!, v6!],
    hostNs,
    mtu: 1400,
    ...(parentAddress === undefined ? {} : { parentAddresses: [`${addressIn(v4!, parentAddress)}/24`] }),
  });
  onTestFinished(() => lan.remove());
  const pools = { v4: { pool: v4!, gateway: lan.routers[0]! }, v6: { pool: v6!, gateway: lan.routers[1]! } };
  return { hostNs, lan, v4: v4!, v6: v6!, f: driverFixture(hostModeKernel({ netns: hostNs }), { netns: hostNs, pools }) };
}

/** What dockerd does for one container: CreateEndpoint, Join, move SrcName in as eth0, addresses, up, default routes. */
async function container(w: World, networkId: string, endpointId: string, host: number): Promise<string> {
  const ns = await makeTestNetns();
  const cidrs = [`${addressIn(w.v4, host)}/24`, `${addressIn(w.v6, host)}/64`];
  await w.f.createEndpoint(networkId, endpointId, { address: cidrs[0], addressIpv6: cidrs[1] });
  const joined = await w.f.join(networkId, endpointId);
  await moveToNetns(joined.InterfaceName.SrcName, ns, { netns: w.hostNs, newName: 'eth0' });
  for (const cidr of cidrs) await ensureAddress('eth0', cidr, { netns: ns, nodad: true });
  await setUp('eth0', { netns: ns });
  if (joined.Gateway) await ensureRoute({ dst: '0.0.0.0/0', via: joined.Gateway, dev: 'eth0' }, { netns: ns });
  if (joined.GatewayIPv6) await ensureRoute({ dst: '::/0', via: joined.GatewayIPv6, dev: 'eth0' }, { netns: ns });
  return ns;
}

/** What dockerd does when the container stops: Leave, move the child back under its SrcName, DeleteEndpoint. */
async function stop(w: World, networkId: string, endpointId: string, ns: string): Promise<void> {
  await w.f.driver.leave({ NetworkID: networkId, EndpointID: endpointId });
  await moveToNetns('eth0', w.hostNs, { netns: ns, newName: childName(TAG, endpointId) });
  await w.f.driver.deleteEndpoint({ NetworkID: networkId, EndpointID: endpointId });
}

const hostLinks = async (w: World) => (await listLinks('', { netns: w.hostNs })).map((l) => l.name).sort();

/** Stops the containers, deletes the network, and checks the host namespace holds nothing of it any more. */
async function removeAll(w: World, containers: ReadonlyArray<[endpointId: string, ns: string]>): Promise<void> {
  for (const [ep, ns] of containers) await stop(w, NET, ep, ns);
  await w.f.driver.deleteNetwork({ NetworkID: NET });
  expect(await hostLinks(w)).toEqual(['lo', w.lan.parent].sort());
}

describe.skipIf(!isRoot)('macvlan mode on the kernel', () => {
  it('bridge mode: containers reach the LAN router and each other over IPv4 and IPv6, with the parent MTU', async (ctx) => {
    const w = await world();
    await skipUnlessIpv6(ctx, { netns: w.hostNs });
    await w.f.createNetwork({ parent: w.lan.parent }, { ipv6: true });
    const c1 = await container(w, NET, epId('1'), 10);
    const c2 = await container(w, NET, epId('2'), 11);
    for (const target of [...w.lan.routers, addressIn(w.v4, 11), addressIn(w.v6, 11)]) expect(await pings(target, { netns: c1 }), target).toBe(true);
    expect((await findLink('eth0', { netns: c2 }))?.mtu).toBe(1400);
    // The gateway is the LAN's router: no interface of the host holds it.
    for (const link of await hostLinks(w)) {
      const addrs = (await listAddresses(link, { netns: w.hostNs })).map((a) => a.address);
      expect(addrs).not.toContain(w.lan.routers[0]);
    }
    await removeAll(w, [[epId('1'), c1], [epId('2'), c2]]);
  });

  it('private mode: containers reach the LAN router but not each other', async () => {
    const w = await world();
    await w.f.createNetwork({ parent: w.lan.parent, macvlan_mode: 'private' });
    const c1 = await container(w, NET, epId('1'), 10);
    await container(w, NET, epId('2'), 11);
    expect(await pings(w.lan.routers[0]!, { netns: c1 })).toBe(true);
    expect(await pings(addressIn(w.v4, 11), { netns: c1 })).toBe(false);
  });

  it('the host reaches a container only with host_access=true, through a shim that goes with the network', async (ctx) => {
    const w = await world(2); // the parent has a LAN address, as a real host's NIC does
    await skipUnlessIpv6(ctx, { netns: w.hostNs });
    expect(await pings(w.lan.routers[0]!, { netns: w.hostNs })).toBe(true);
    await w.f.createNetwork({ parent: w.lan.parent });
    const c1 = await container(w, NET, epId('1'), 10);
    expect(await pings(addressIn(w.v4, 10), { netns: w.hostNs })).toBe(false);
    await removeAll(w, [[epId('1'), c1]]);

    await w.f.createNetwork({ parent: w.lan.parent, host_access: 'true' }, { ipv6: true, aux: { host: `${addressIn(w.v4, 250)}/24` } });
    const c2 = await container(w, NET, epId('2'), 11);
    for (const target of [addressIn(w.v4, 11), addressIn(w.v6, 11)]) expect(await pings(target, { netns: w.hostNs }), target).toBe(true);
    expect(await pings(addressIn(w.v4, 250), { netns: c2 })).toBe(true);
    await removeAll(w, [[epId('2'), c2]]);
  });

  it('restore remakes a lost shim and removes macvlan links no record owns', async () => {
    const w = await world();
    await w.f.createNetwork({ parent: w.lan.parent, host_access: 'true' });
    await deleteLink(shimName(TAG, NET), { netns: w.hostNs });
    const stray = childName(TAG, epId('9'));
    await ensureMacvlan(stray, w.lan.parent, 'bridge', { netns: w.hostNs });
    await w.f.restart().restore();
    expect(await hostLinks(w)).toEqual(['lo', w.lan.parent, shimName(TAG, NET)].sort());
    const shim = (await listAddresses(shimName(TAG, NET), { netns: w.hostNs, family: 4 })).map((a) => a.cidr);
    expect(shim).toEqual([`${addressIn(w.v4, 254)}/32`]);
    expect(await readSysctl(`net.ipv6.conf.${shimName(TAG, NET)}.accept_ra`, { netns: w.hostNs })).toBe('0');
  });

  it('refuses a missing parent and passthru on a used parent, leaving nothing', async () => {
    const w = await world();
    await expect(w.f.createNetwork({ parent: 'nosuch0' })).rejects.toThrow(refusal('ERR_INVALID_REQUEST', /parent interface "nosuch0" does not exist/));
    await w.f.createNetwork({ parent: w.lan.parent, host_access: 'true' });
    await expect(w.f.createNetwork({ parent: w.lan.parent, macvlan_mode: 'passthru' }, { id: 'b'.repeat(64) })).rejects.toThrow(refusal('ERR_CONFLICT', /passthru needs the parent to itself/));
    expect(await hostLinks(w)).toEqual(['lo', w.lan.parent, shimName(TAG, NET)].sort());
  });
});

describe.skipIf(!isRoot)('macvlan mode with parent=IFACE.VLAN', () => {
  let missing: string | undefined;
  beforeAll(async () => {
    missing = await vlanUnsupportedReason();
  });
  afterAll(() => {
    if (missing !== undefined) console.warn(`macvlan VLAN tests: 802.1Q is missing here, so only the refusal is tested (${missing})`);
  });

  it('refuses clearly, creating nothing, when the kernel has no 802.1Q', async (ctx) => {
    ctx.skip(missing === undefined, 'this kernel has 802.1Q support');
    const w = await world();
    await expect(w.f.createNetwork({ parent: `${w.lan.parent}.10` })).rejects.toThrow(refusal('ERR_UNSUPPORTED', /asks for VLAN 10 .* no 802.1Q VLAN support \(module 8021q\)/));
    expect(await hostLinks(w)).toEqual(['lo', w.lan.parent].sort());
  });

  it('makes the VLAN sub-interface, shared by networks, removed with the last', async (ctx) => {
    if (missing !== undefined) console.warn(`skipped: ${missing}`);
    ctx.skip(missing !== undefined, missing);
    const w = await world();
    await w.f.createNetwork({ parent: `${w.lan.parent}.10` });
    await w.f.createNetwork({ parent: `${w.lan.parent}.10` }, { id: 'b'.repeat(64) });
    const vlan = vlanName(TAG, w.lan.parent, 10);
    expect((await findLink(vlan, { netns: w.hostNs }))?.kind).toBe('vlan');
    await w.f.driver.deleteNetwork({ NetworkID: NET });
    expect(await findLink(vlan, { netns: w.hostNs })).toBeDefined();
    await w.f.driver.deleteNetwork({ NetworkID: 'b'.repeat(64) });
    expect(await hostLinks(w)).toEqual(['lo', w.lan.parent].sort());
  });
});
