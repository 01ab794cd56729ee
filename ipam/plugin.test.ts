/**
 * tsipam as dockerd sees it: the real factory (LevelDB store, host routes, env configuration) behind
 * the real plugin server on a unix socket in a fresh temp dir, called the way dockerd calls. No root.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { callPlugin, postRaw } from '../common/protocol/client.js';
import { PluginServer } from '../common/protocol/server.js';
import { LevelStore } from '../common/store/level-store.js';
import { adminCall, type TsnetIpamResponses } from './admin/admin-api.js';
import { hostRoutePrefixes } from './core/host-routes.js';
import { createIpamPlugin } from './index.js';
import { overlaps, parsePrefix } from '../common/addr/prefix.js';
import { silentLogger } from './testing/fixture-allocator.js';
import { refusal } from '../testing/refusal.js';

let dir: string;
let running: { server: PluginServer; store: LevelStore } | undefined;
let sock: string;

async function start(): Promise<void> {
  const store = await LevelStore.open(join(dir, 'db'));
  const plugin = await createIpamPlugin({ stateDir: dir, store, log: silentLogger() });
  const server = await PluginServer.listen({ socketPath: sock, interfaces: plugin.interfaces, log: silentLogger() });
  running = { server, store };
}
async function stop(): Promise<void> {
  await running?.server.close();
  await running?.store.close();
  running = undefined;
}
const call = <T = Record<string, unknown>>(method: string, body?: object) => callPlugin<T>(sock, method, body);

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsipam-'));
  sock = join(dir, 'tsipam.sock');
  await start();
});
afterEach(async () => {
  await stop();
  await rm(dir, { recursive: true, force: true });
});

describe('tsipam over its socket', () => {
  it('activates as IpamDriver only, and answers the empty-body calls', async () => {
    expect(await call('Plugin.Activate')).toEqual({ Implements: ['IpamDriver'] });
    expect(await call('IpamDriver.GetCapabilities')).toEqual({ RequiresMACAddress: true, RequiresRequestReplay: false });
    expect(await call('IpamDriver.GetDefaultAddressSpaces')).toEqual({
      LocalDefaultAddressSpace: 'LocalDefault',
      GlobalDefaultAddressSpace: 'GlobalDefault',
    });
  });

  it('runs the call sequence of `docker network create --subnet --ip-range --gateway --aux-address` and rm', async () => {
    const pool = await call<{ PoolID: string; Pool: string }>('IpamDriver.RequestPool', {
      AddressSpace: 'LocalDefault',
      Pool: '10.201.0.0/24',
      SubPool: '10.201.0.128/25',
      Options: {},
      V6: false,
    });
    expect(pool).toEqual({ PoolID: 'LocalDefault/10.201.0.0/24/10.201.0.128/25', Pool: '10.201.0.0/24', Data: {} });
    const gw = await call('IpamDriver.RequestAddress', { PoolID: pool.PoolID, Address: '10.201.0.1', Options: { RequestAddressType: 'com.docker.network.gateway' } });
    expect(gw).toEqual({ Address: '10.201.0.1/24', Data: {} });
    expect(await call('IpamDriver.RequestAddress', { PoolID: pool.PoolID, Address: '10.201.0.2', Options: null })).toMatchObject({ Address: '10.201.0.2/24' });
    expect(await call('IpamDriver.RequestAddress', { PoolID: pool.PoolID, Address: '', Options: {} })).toMatchObject({ Address: '10.201.0.128/24' });
    // network rm: ReleaseAddress for gateway and aux, ReleasePool refused while the endpoint holds one.
    await expect(call('IpamDriver.ReleasePool', { PoolID: pool.PoolID })).rejects.toThrow(refusal('ERR_PLUGIN_CALL', /still has 3 allocated addresses/));
    for (const a of ['10.201.0.128', '10.201.0.1', '10.201.0.2']) await call('IpamDriver.ReleaseAddress', { PoolID: pool.PoolID, Address: a });
    expect(await call('IpamDriver.ReleasePool', { PoolID: pool.PoolID })).toEqual({});
    // dockerd's replays after a restart succeed.
    expect(await call('IpamDriver.ReleaseAddress', { PoolID: pool.PoolID, Address: '10.201.0.1' })).toEqual({});
    expect(await call('IpamDriver.ReleasePool', { PoolID: pool.PoolID })).toEqual({});
  });

  it.each([
    ['an invalid CIDR', 'IpamDriver.RequestPool', { Pool: '10.201.0.0/33' }, 400, /Pool must be an address with a prefix length/],
    ['a gateway outside the pool', 'IpamDriver.RequestAddress', { PoolID: 'LocalDefault/10.202.0.0/24', Address: '10.9.9.9', Options: { RequestAddressType: 'com.docker.network.gateway' } }, 400, /not in pool/],
    ['an ip-range outside the subnet', 'IpamDriver.RequestPool', { Pool: '10.203.0.0/24', SubPool: '10.204.0.0/25' }, 400, /not inside pool/],
    ['an unknown pool ID', 'IpamDriver.RequestAddress', { PoolID: 'LocalDefault/10.99.0.0/24', Address: '' }, 500, /unknown pool ID/],
    ['an invalid address', 'IpamDriver.RequestAddress', { PoolID: 'LocalDefault/10.202.0.0/24', Address: '10.202.0.300' }, 400, /Address must be a plain IP address/],
  ])('answers %s with a clear Err and changes nothing', async (_name, method, body, status, message) => {
    await call('IpamDriver.RequestPool', { Pool: '10.202.0.0/24' });
    const before = await call(adminCall('List'));
    const reply = await postRaw(sock, method, JSON.stringify(body));
    expect(reply.status).toBe(status);
    expect((JSON.parse(reply.text) as { Err: string }).Err).toMatch(message);
    expect(await call(adminCall('List'))).toEqual(before);
  });

  it('gives 200 parallel RequestAddress calls 200 distinct addresses, all durable', async () => {
    const { PoolID } = await call<{ PoolID: string }>('IpamDriver.RequestPool', { Pool: '10.205.0.0/23' });
    const replies = await Promise.all(
      Array.from({ length: 200 }, () => call<{ Address: string }>('IpamDriver.RequestAddress', { PoolID, Address: '', Options: {} })),
    );
    const got = replies.map((r) => r.Address);
    expect(new Set(got).size).toBe(200);
    await stop();
    await start();
    const { Addresses } = await call<TsnetIpamResponses['Inspect']>(adminCall('Inspect'), { Pool: PoolID });
    expect(Addresses.map((a) => `${a.Address}/23`).sort()).toEqual([...got].sort());
  });

  it('chooses an automatic pool that overlaps no route of this host', async () => {
    const routes = await hostRoutePrefixes(4);
    const { Pool } = await call<{ Pool: string }>('IpamDriver.RequestPool', { AddressSpace: 'LocalDefault' });
    expect(routes.filter((r) => overlaps(r, parsePrefix(Pool)!))).toEqual([]);
    const list = await call<TsnetIpamResponses['List']>(adminCall('List'));
    expect(list.Pools).toEqual([expect.objectContaining({ Subnet: Pool, Auto: true, Used: '0' })]);
  });
});
