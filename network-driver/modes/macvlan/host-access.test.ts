/**
 * `host_access=true` through the real driver over a fake kernel: the shim, its addresses, the host
 * routes per container, and their removal.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { ConflictError } from '../../../common/protocol/errors.js';
import { id, macvlanFixture, TAG } from '../testing/fixture-macvlan-driver.js';
import { shimName } from './names.js';

const NET = id('a');
const SHIM = shimName(TAG, NET);
let f: ReturnType<typeof macvlanFixture>;
beforeEach(() => {
  f = macvlanFixture();
});

const routes = () => f.kernel.routes.map((r) => `${r.dst} dev ${r.dev}`).sort();

describe('macvlan host access', () => {
  it('makes a bridge-mode shim on the parent with /32 and /128 addresses, and nothing without the option', async () => {
    await f.createNetwork({ parent: 'p0' }, { id: id('b') });
    expect(f.linkNames()).toEqual(['p0']);
    await f.createNetwork({ parent: 'p0', host_access: 'true' }, { ipv6: true, aux: { host: '10.9.8.250/24' } });
    expect(f.kernel.links.get(SHIM)).toMatchObject({ kind: 'macvlan', parent: 'p0', macvlanMode: 'bridge', mtu: 1500, up: true });
    expect([...f.kernel.addresses.get(SHIM)!]).toEqual(['10.9.8.250/32', 'fd00:9::ffff:ffff:ffff:ffff/128']);
    // Router advertisements are off before the shim comes up, so the host gets no route through it.
    const shimCalls = f.kernel.calls.filter((c) => c.includes(SHIM));
    expect(shimCalls.indexOf(`ensureSysctl net.ipv6.conf.${SHIM}.accept_ra 0`)).toBeLessThan(shimCalls.indexOf(`setUp ${SHIM}`));
  });

  it('routes each container address through the shim while the endpoint exists', async () => {
    await f.createNetwork({ parent: 'p0', host_access: 'true', host_address: '10.9.8.99,fd00:9::99' }, { ipv6: true });
    await f.createEndpoint(NET, id('e'), { address: '10.9.8.5/24', addressIpv6: 'fd00:9::5/64' });
    await f.createEndpoint(NET, id('f'), { address: '10.9.8.6/24' });
    expect(routes()).toEqual([`10.9.8.5/32 dev ${SHIM}`, `10.9.8.6/32 dev ${SHIM}`, `fd00:9::5/128 dev ${SHIM}`]);
    const info = await f.driver.endpointOperInfo({ NetworkID: NET, EndpointID: id('e') });
    expect(info.Value).toMatchObject({ host_access: true, host_addresses: ['10.9.8.99', 'fd00:9::99'] });
    await f.driver.deleteEndpoint({ NetworkID: NET, EndpointID: id('e') });
    expect(routes()).toEqual([`10.9.8.6/32 dev ${SHIM}`]);
  });

  it('removes the shim, its addresses and routes with the network', async () => {
    await f.createNetwork({ parent: 'p0', host_access: 'true' });
    await f.createEndpoint(NET, id('e'));
    await f.driver.deleteNetwork({ NetworkID: NET });
    expect(f.linkNames()).toEqual(['p0']);
    expect(f.kernel.routes).toEqual([]);
    expect(f.kernel.addresses.size).toBe(0);
  });

  it('refuses a container that IPAM gave the shim address, leaving nothing', async () => {
    await f.createNetwork({ parent: 'p0', host_access: 'true', host_address: '10.9.8.5' });
    const err = await f.createEndpoint(NET, id('e'), { address: '10.9.8.5/24' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as Error).message).toMatch(/address 10.9.8.5 is the host shim's address .*--aux-address host=10.9.8.5/);
    expect(f.linkNames()).toEqual(['p0', SHIM]);
  });

  it('takes the child back when its host route cannot be made', async () => {
    await f.createNetwork({ parent: 'p0', host_access: 'true' });
    await f.kernel.deleteLink(SHIM);
    await expect(f.createEndpoint(NET, id('e'))).rejects.toMatchObject({ code: 'ERR_KERNEL_RTNL', errno: 'ENODEV' });
    expect(f.linkNames()).toEqual(['p0']);
    expect(await f.endpoints()).toEqual([]);
  });
});
