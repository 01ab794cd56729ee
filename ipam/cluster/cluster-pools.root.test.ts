/**
 * Cluster pools on a real etcd (testing/cluster/etcd.ts): each "host" is an allocator with its own
 * local store, etcd client and cluster session (its own host ID), as `tsnet serve --cluster-store` on
 * several machines would be.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { createEtcdClient, EtcdUnavailableError } from '../../common/cluster/etcd-client.js';
import { openClusterSession } from '../../common/cluster/session.js';
import type { ClusterSession } from '../../common/cluster/types.js';
import { MemoryStore } from '../../common/store/memory-store.js';
import { startTestEtcd, useTestEtcd, type TestEtcd } from '../../testing/cluster/etcd.js';
import type { IpamAllocator } from '../core/allocator.js';
import { ClusterPoolMismatchError, PoolExhaustedError, PoolInUseError } from '../errors.js';
import { silentLogger, testAllocator } from '../testing/fixture-allocator.js';
import { refusal } from '../../testing/refusal.js';

const GW = { RequestAddressType: 'com.docker.network.gateway' };
const EP = (name: string) => ({ 'com.docker.network.endpoint.name': name });
const IPAM = '/tsnet/v1/ipam/';

interface Host {
  a: IpamAllocator;
  session: ClusterSession;
}

const shared = useTestEtcd();

/** A host on `on` (the shared etcd by default), with state in `dir` and `store`; closed when the test ends. */
async function host(on: TestEtcd = shared.etcd, graceSeconds = 30, dir = `/tmp/tstest-ipam-${randomBytes(4).toString('hex')}`, store = new MemoryStore()): Promise<Host> {
  const client = createEtcdClient(on.endpoints, { timeoutMs: 500 });
  const session = await openClusterSession({ client, stateDir: dir, advertise: '127.0.0.1', ttlSeconds: 2, graceSeconds, log: silentLogger() });
  const { allocator: a } = await testAllocator({ store, cluster: session });
  onTestFinished(async () => {
    await session.close();
    client.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { a, session };
}

const clusterPool = (h: Host, pool: string, over: { subPool?: string; options?: Record<string, string> } = {}) =>
  h.a.requestPool({ space: '', pool, subPool: over.subPool ?? '', v6: false, options: { cluster: 'true', ...over.options } });
const addr = (h: Host, poolId: string, address = '', options: Record<string, string> = {}) => h.a.requestAddress({ poolId, address, options });
const keys = async (prefix: string) => (await shared.client.range(prefix)).kvs;

describe('cluster pools', () => {
  it('are joined by every host; 3×50 racing allocations are all distinct; the gateway and aux addresses are shared', async () => {
    const hosts = await Promise.all([host(), host(), host()]);
    const ids = await Promise.all(hosts.map((h) => clusterPool(h, '10.90.0.0/24')));
    expect(new Set(ids.map((r) => r.id))).toEqual(new Set(['LocalDefault/10.90.0.0/24']));
    const id = ids[0]!.id;
    expect((await keys(`${IPAM}users/LocalDefault/10.90.0.0/24/`)).map((kv) => kv.key.split('/').pop()).sort()).toEqual(hosts.map((h) => h.session.hostId).sort());

    expect(await Promise.all(hosts.map((h) => addr(h, id, '', GW)))).toEqual(['10.90.0.1/24', '10.90.0.1/24', '10.90.0.1/24']);
    expect(await Promise.all(hosts.map((h) => addr(h, id, '10.90.0.250')))).toEqual(['10.90.0.250/24', '10.90.0.250/24', '10.90.0.250/24']);

    const got = await Promise.all(hosts.flatMap((h, i) => Array.from({ length: 50 }, (_, j) => addr(h, id, '', EP(`c${i}-${j}`)).then((a) => [i, a] as const))));
    const addresses = got.map(([, a]) => a);
    expect(new Set(addresses).size).toBe(150);
    expect(addresses).not.toContain('10.90.0.1/24');
    expect(addresses).not.toContain('10.90.0.250/24');
    const stored = new Map((await keys(`${IPAM}addresses/LocalDefault/10.90.0.0/24/`)).map((kv) => [kv.key.split('/').pop(), JSON.parse(kv.value) as { host: string; kind: string }]));
    expect(stored.size).toBe(152);
    for (const [i, a] of got) expect(stored.get(a.split('/')[0])).toMatchObject({ host: hosts[i]!.session.hostId, kind: 'endpoint' });
    expect(stored.get('10.90.0.1')?.kind).toBe('gateway');

    // A specific address another host holds is refused naming the host; inspect shows the holders.
    const [a0, b0] = [got.find(([i]) => i === 0)![1], got.find(([i]) => i === 1)![1]];
    await expect(addr(hosts[1]!, id, a0.split('/')[0])).rejects.toThrow(refusal('ERR_ADDRESS_IN_USE', `Address already in use (held by host ${hosts[0]!.session.hostId})`));
    await expect(addr(hosts[1]!, id, '10.90.0.240', GW)).rejects.toThrow(refusal('ERR_CONFLICT', /already has gateway 10\.90\.0\.1/));
    const seen = await hosts[2]!.a.inspect('10.90.0.0/24');
    expect(seen.addresses.find((r) => r.address === b0.split('/')[0])?.host).toBe(hosts[1]!.session.hostId);
  });

  it('frees an endpoint address for everyone, keeps shared ones, and deletes the pool with its last host only', async () => {
    const [h1, h2] = await Promise.all([host(), host()]);
    const { id } = await clusterPool(h1, '10.91.0.0/24');
    await clusterPool(h2, '10.91.0.0/24');
    await addr(h1, id, '', GW);
    await addr(h2, id, '', GW);
    await addr(h1, id, '10.91.0.200');
    const mine = await addr(h1, id, '', EP('web'));
    expect(mine).toBe('10.91.0.2/24');

    await h1.a.releaseAddress(id, '10.91.0.1'); // the gateway stays, for h2
    await h1.a.releaseAddress(id, '10.91.0.200');
    await h2.a.releaseAddress(id, '10.91.0.2'); // not h2's: nothing happens
    expect((await keys(`${IPAM}addresses/LocalDefault/10.91.0.0/24/`)).map((kv) => kv.key.split('/').pop())).toEqual(['10.91.0.1', '10.91.0.2', '10.91.0.200']);
    await expect(h1.a.releasePool(id)).rejects.toThrow(PoolInUseError);
    await expect(h1.a.releasePool(id)).rejects.toThrow(refusal('ERR_POOL_IN_USE', 'still has 1 allocated address on this host (10.91.0.2)'));
    await h1.a.releaseAddress(id, '10.91.0.2');
    expect(await addr(h2, id, '10.91.0.2', EP('db'))).toBe('10.91.0.2/24');

    await h1.a.releasePool(id);
    expect(h1.a.list()).toEqual([]);
    expect(await shared.client.get(`${IPAM}pools/LocalDefault/10.91.0.0/24`)).toBeDefined();
    expect((await keys(`${IPAM}users/LocalDefault/10.91.0.0/24/`)).map((kv) => kv.key.split('/').pop())).toEqual([h2.session.hostId]);
    expect(await addr(h2, id, '', GW)).toBe('10.91.0.1/24');

    await h2.a.releaseAddress(id, '10.91.0.2');
    await h2.a.releasePool(id);
    for (const what of ['pools', 'users', 'addresses']) expect(await keys(`${IPAM}${what}/LocalDefault/10.91.0.0/24`)).toEqual([]);
    // ... and a host may create it anew.
    const again = await clusterPool(h1, '10.91.0.0/24', { subPool: '10.91.0.128/25' });
    expect(await addr(h1, again.id, '', GW)).toBe('10.91.0.128/24');
  });

  it('never loses a pool to leaves and joins racing', async () => {
    const hosts = await Promise.all([host(), host(), host()]);
    for (let round = 0; round < 5; round++) {
      const { id } = (await Promise.all(hosts.map((h) => clusterPool(h, '10.92.0.0/24'))))[0]!;
      await Promise.all([hosts[0]!.a.releasePool(id), hosts[1]!.a.releasePool(id), hosts[2]!.a.releasePool(id).then(() => clusterPool(hosts[2]!, '10.92.0.0/24'))]);
      expect(await shared.client.get(`${IPAM}pools/LocalDefault/10.92.0.0/24`)).toBeDefined();
      expect((await keys(`${IPAM}users/LocalDefault/10.92.0.0/24/`)).map((kv) => kv.key.split('/').pop())).toEqual([hosts[2]!.session.hostId]);
      await hosts[2]!.a.releasePool(id);
      expect(await keys(`${IPAM}pools/LocalDefault/10.92.0.0/24`)).toEqual([]);
    }
  });

  it('refuses a host that asks for the pool with another sub-pool or other options, naming the difference', async () => {
    const [h1, h2] = await Promise.all([host(), host()]);
    await clusterPool(h1, '10.93.0.0/24', { subPool: '10.93.0.128/25' });
    const err = await clusterPool(h2, '10.93.0.0/24').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClusterPoolMismatchError);
    expect((err as Error).message).toBe(
      `cluster pool LocalDefault/10.93.0.0/24 (created by host ${h1.session.hostId}) differs from what this host asked for: ip-range (sub-pool): cluster has 10.93.0.128/25, this host asked for none; create the network with the same --subnet, --ip-range and --ipam-opt on every host`,
    );
    await expect(clusterPool(h2, '10.93.0.0/24', { subPool: '10.93.0.128/25', options: { 'com.docker.network.ipam.serial': 'false' } })).rejects.toThrow(
      refusal('ERR_CLUSTER_POOL_MISMATCH', 'ipam option com.docker.network.ipam.serial: cluster has none, this host asked for "false"'),
    );
    expect(h2.a.list()).toEqual([]);
    expect((await keys(`${IPAM}users/LocalDefault/10.93.0.0/24/`)).length).toBe(1);
  });

  it("reclaims a gone host's addresses only after its hold expired, when the pool looks full and in gc", async () => {
    const deadDir = `/tmp/tstest-ipam-${randomBytes(4).toString('hex')}`;
    const deadStore = new MemoryStore();
    const [h1, dead] = await Promise.all([host(shared.etcd, 30), host(shared.etcd, 3, deadDir, deadStore)]);
    const { id } = await clusterPool(h1, '10.94.0.0/29'); // .1 to .6
    await clusterPool(dead, '10.94.0.0/29');
    await addr(h1, id, '', GW);
    await addr(dead, id, '', GW);
    expect(await Promise.all([addr(dead, id, '', EP('d1')), addr(dead, id, '', EP('d2'))])).toEqual(['10.94.0.2/29', '10.94.0.3/29']);
    await dead.session.close(); // the host dies: its hold lease runs out in 3 s
    expect((await Promise.all([1, 2, 3].map((i) => addr(h1, id, '', EP(`a${i}`))))).sort()).toEqual(['10.94.0.4/29', '10.94.0.5/29', '10.94.0.6/29']);
    await expect(addr(h1, id, '', EP('late'))).rejects.toThrow(PoolExhaustedError);
    const early = await h1.a.collect({ subnets: ['10.94.0.0/29'], addresses: [] }, new Date(), true);
    expect(early.filter((i) => i.reason.includes('hold expired'))).toEqual([]);

    await vi.waitFor(async () => expect(await h1.session.isHeld(dead.session.hostId)).toBe(false), { timeout: 15_000, interval: 200 });
    const gc = await h1.a.collect({ subnets: ['10.94.0.0/29'], addresses: ['10.94.0.4', '10.94.0.5', '10.94.0.6'] }, new Date(), true);
    expect(gc).toEqual([
      { poolId: id, address: '10.94.0.2', reason: `held by host ${dead.session.hostId}, whose hold expired` },
      { poolId: id, address: '10.94.0.3', reason: `held by host ${dead.session.hostId}, whose hold expired` },
    ]);
    expect(await addr(h1, id, '', EP('late'))).toBe('10.94.0.2/29');
    const held = (await h1.a.inspect(id)).addresses;
    expect(held.map((r) => [r.address, r.kind, r.host === h1.session.hostId ? 'h1' : 'dead'])).toEqual([
      ['10.94.0.1', 'gateway', 'h1'],
      ['10.94.0.2', 'endpoint', 'h1'],
      ['10.94.0.4', 'endpoint', 'h1'],
      ['10.94.0.5', 'endpoint', 'h1'],
      ['10.94.0.6', 'endpoint', 'h1'],
    ]);

    // The gone host still uses the pool (its network there still has the gateway): it stays when h1 leaves ...
    for (const a of ['10.94.0.2', '10.94.0.4', '10.94.0.5', '10.94.0.6']) await h1.a.releaseAddress(id, a);
    await h1.a.releasePool(id);
    expect((await keys(`${IPAM}addresses/LocalDefault/10.94.0.0/29/`)).map((kv) => kv.key.split('/').pop())).toEqual(['10.94.0.1']);
    // ... and when the host comes back, it reads the pool again and, last, deletes it.
    const back = await host(shared.etcd, 3, deadDir, deadStore);
    expect(back.session.hostId).toBe(dead.session.hostId);
    expect(await addr(back, id, '', GW)).toBe('10.94.0.1/29');
    expect(await addr(back, id, '', EP('d3'))).toBe('10.94.0.2/29');
    await back.a.releaseAddress(id, '10.94.0.2');
    await back.a.releasePool(id);
    for (const what of ['pools', 'users', 'addresses']) expect(await keys(`${IPAM}${what}/LocalDefault/10.94.0.0/29`)).toEqual([]);
  });

  it('joins a pool again when etcd lost it', async () => {
    const store = new MemoryStore();
    const h = await host(shared.etcd, 30, undefined, store);
    const { id } = await clusterPool(h, '10.99.0.0/24');
    expect(await addr(h, id, '', EP('a'))).toBe('10.99.0.1/24');
    for (const what of ['pools', 'users', 'addresses']) await shared.client.delete(`${IPAM}${what}/LocalDefault/10.99.0.0/24`, { prefix: true });
    const { allocator } = await testAllocator({ store, cluster: h.session });
    expect(await addr({ ...h, a: allocator }, id, '', EP('b'))).toBe('10.99.0.1/24');
    expect(await shared.client.get(`${IPAM}pools/LocalDefault/10.99.0.0/24`)).toBeDefined();
    expect((await keys(`${IPAM}users/LocalDefault/10.99.0.0/24/`)).map((kv) => kv.key.split('/').pop())).toEqual([h.session.hostId]);
  });

  it('reads everything again from etcd after a restart', async () => {
    const dir = `/tmp/tstest-ipam-${randomBytes(4).toString('hex')}`;
    const store = new MemoryStore();
    const [h1, h2] = await Promise.all([host(shared.etcd, 30, dir, store), host()]);
    const { id } = await clusterPool(h1, '10.95.0.0/24');
    await clusterPool(h2, '10.95.0.0/24');
    await addr(h1, id, '', GW);
    expect(await addr(h1, id, '', EP('one'))).toBe('10.95.0.2/24');
    expect(await addr(h2, id, '', EP('two'))).toBe('10.95.0.3/24');

    await h1.session.close(); // the plugin stops; it starts again on the same state directory and store
    const restarted = await host(shared.etcd, 30, dir, store);
    expect(restarted.session.hostId).toBe(h1.session.hostId);
    const again = restarted.a;
    expect((await again.inspect(id)).addresses.map((r) => r.address)).toEqual(['10.95.0.1', '10.95.0.2', '10.95.0.3']);
    expect(await addr(restarted, id, '', GW)).toBe('10.95.0.1/24');
    expect(await addr(restarted, id, '', EP('three'))).toBe('10.95.0.4/24');
    await expect(again.releasePool(id)).rejects.toThrow(refusal('ERR_POOL_IN_USE', 'still has 2 allocated addresses on this host (10.95.0.2, 10.95.0.4)'));
    await again.releaseAddress(id, '10.95.0.2');
    expect(await shared.client.get(`${IPAM}addresses/LocalDefault/10.95.0.0/24/10.95.0.2`)).toBeUndefined();
  });
});

describe('cluster pools with etcd away', () => {
  it('fail with a clear error within the client timeout and change nothing; work again once etcd is back', async () => {
    const own = await startTestEtcd();
    onTestFinished(() => own.stop());
    const h = await host(own);
    const { id } = await clusterPool(h, '10.96.0.0/24');
    await addr(h, id, '', GW);
    const local = await h.a.requestPool({ space: '', pool: '10.97.0.0/24', subPool: '', v6: false, options: {} });
    const before = h.a.list();

    await own.kill9();
    for (const attempt of [() => addr(h, id, '', EP('x')), () => addr(h, id, '10.96.0.7'), () => clusterPool(h, '10.98.0.0/24'), () => h.a.releasePool(id)]) {
      const started = Date.now();
      const err = await attempt().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EtcdUnavailableError);
      expect((err as Error).message).toMatch(/etcd is unreachable/);
      expect(Date.now() - started).toBeLessThan(5000);
    }
    expect(h.a.list()).toEqual(before);
    expect(await addr(h, local.id, '', EP('local'))).toBe('10.97.0.1/24');

    await own.start();
    expect(await addr(h, id, '', EP('x'))).toBe('10.96.0.2/24');
  });
});
