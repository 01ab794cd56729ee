/**
 * Two tsipam plugins (the real factory, LevelDB stores, sockets) sharing cluster pools through a real
 * etcd, called the way dockerd on two hosts calls them for `docker network create --ipam-driver tsipam
 * --ipam-opt cluster=true --subnet …` and a container on each.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createEtcdClient } from '../../common/cluster/etcd-client.js';
import { openClusterSession } from '../../common/cluster/session.js';
import { callPlugin, postRaw } from '../../common/protocol/client.js';
import { PluginServer } from '../../common/protocol/server.js';
import { LevelStore } from '../../common/store/level-store.js';
import { useTestEtcd } from '../../testing/cluster/etcd.js';
import { adminCall, type TsnetIpamResponses } from '../admin/admin-api.js';
import { createIpamPlugin } from '../index.js';
import type { AddressRecord, PoolRecord } from '../core/persistence.js';
import { silentLogger } from '../testing/fixture-allocator.js';

const shared = useTestEtcd();

/** One host's tsipam, stopped and removed when the test ends. */
async function plugin(): Promise<{ sock: string; hostId: string; store: LevelStore }> {
  const dir = await mkdtemp(join(tmpdir(), 'tstest-ipam-'));
  const client = createEtcdClient(shared.etcd.endpoints, { timeoutMs: 1000 });
  const cluster = await openClusterSession({ client, stateDir: join(dir, 'cluster'), advertise: '127.0.0.1', log: silentLogger() });
  const store = await LevelStore.open(join(dir, 'db'));
  const { interfaces } = await createIpamPlugin({ stateDir: dir, store, log: silentLogger(), cluster });
  const sock = join(dir, 'tsipam.sock');
  const server = await PluginServer.listen({ socketPath: sock, interfaces, log: silentLogger() });
  onTestFinished(async () => {
    await server.close();
    await store.close();
    await cluster.close();
    client.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { sock, hostId: cluster.hostId, store };
}

describe('tsipam cluster pools over the socket', () => {
  it('gives each host the same pool and gateway, distinct container addresses, and keeps only the pool record locally', async () => {
    const hosts = [await plugin(), await plugin()];
    const create = { AddressSpace: 'LocalDefault', Pool: '10.230.0.0/24', SubPool: '', Options: { cluster: 'true' }, V6: false };
    const pools = await Promise.all(hosts.map((h) => callPlugin<{ PoolID: string }>(h.sock, 'IpamDriver.RequestPool', create)));
    expect(pools.map((p) => p.PoolID)).toEqual(['LocalDefault/10.230.0.0/24', 'LocalDefault/10.230.0.0/24']);
    const PoolID = pools[0]!.PoolID;
    const gateway = { PoolID, Address: '', Options: { RequestAddressType: 'com.docker.network.gateway' } };
    for (const h of hosts) expect(await callPlugin(h.sock, 'IpamDriver.RequestAddress', gateway)).toEqual({ Address: '10.230.0.1/24', Data: {} });
    const endpoint = (name: string) => ({ PoolID, Address: '', Options: { 'com.docker.network.endpoint.name': name } });
    const got = await Promise.all(hosts.map((h, i) => callPlugin<{ Address: string }>(h.sock, 'IpamDriver.RequestAddress', endpoint(`web${i}`))));
    expect(got.map((r) => r.Address).sort()).toEqual(['10.230.0.2/24', '10.230.0.3/24']);

    const { Addresses } = await callPlugin<TsnetIpamResponses['Inspect']>(hosts[1]!.sock, adminCall('Inspect'), { Pool: '10.230.0.0/24' });
    expect(Addresses.map((a) => [a.Address, a.Kind, a.Host])).toEqual([
      ['10.230.0.1', 'gateway', expect.any(String)],
      ['10.230.0.2', 'endpoint', expect.any(String)],
      ['10.230.0.3', 'endpoint', expect.any(String)],
    ]);
    expect(new Set(Addresses.slice(1).map((a) => a.Host))).toEqual(new Set(hosts.map((h) => h.hostId)));
    expect((await hosts[0]!.store.collection<PoolRecord>('pools').entries()).map(([id]) => id)).toEqual([PoolID]);
    expect(await hosts[0]!.store.collection<AddressRecord>('addresses').entries()).toEqual([]);

    // A second network with that subnet on one host overlaps the first, as with local pools.
    const reply = await postRaw(hosts[0]!.sock, 'IpamDriver.RequestPool', JSON.stringify({ ...create, Pool: '10.230.0.0/24', SubPool: '10.230.0.0/25' }));
    expect(reply.status).toBe(500);
    expect((JSON.parse(reply.text) as { Err: string }).Err).toMatch(/overlaps pool LocalDefault\/10\.230\.0\.0\/24/);
  });
});
