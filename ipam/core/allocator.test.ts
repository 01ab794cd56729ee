import { describe, expect, it } from 'vitest';
import { InvalidRequestError, NotFoundError } from '../../common/protocol/errors.js';
import { MemoryStore } from '../../common/store/memory-store.js';
import type { Store } from '../../common/store/store.js';
import { IpamAllocator } from './allocator.js';
import { resolveConfig } from '../config.js';
import type { IpamPersistence } from './persistence.js';
import { StorePersistence } from './store-persistence.js';
import type { PoolRequest } from './requests.js';
import { AddressInUseError, PoolExhaustedError, PoolInUseError, PoolOverlapError } from '../errors.js';
import { formatPrefix, parsePrefix } from '../../common/addr/prefix.js';
import { silentLogger, testAllocator } from '../testing/fixture-allocator.js';
import { refusal } from '../../testing/refusal.js';

const GW = { RequestAddressType: 'com.docker.network.gateway' };

function poolReq(over: Partial<PoolRequest> = {}): PoolRequest {
  return { space: '', pool: '', subPool: '', v6: false, options: {}, ...over };
}
async function pool(a: IpamAllocator, over: Partial<PoolRequest> = {}) {
  const { id, subnet } = await a.requestPool(poolReq(over));
  return { id, subnet: formatPrefix(subnet) };
}
const addr = (a: IpamAllocator, poolId: string, address = '', options: Record<string, string> = {}) => a.requestAddress({ poolId, address, options });

/** Every record in the store, to prove that a refused request changed nothing. */
async function dump(store: Store) {
  return Promise.all(['pools', 'addresses', 'cursors'].map((c) => store.collection(c).entries()));
}

describe('address spaces and explicit pools', () => {
  it('answers pool IDs like Docker and refuses overlap inside a space, naming the existing pool', async () => {
    const { allocator: a } = await testAllocator();
    expect(await pool(a, { pool: '10.20.0.0/16' })).toEqual({ id: 'LocalDefault/10.20.0.0/16', subnet: '10.20.0.0/16' });
    const err = await a.requestPool(poolReq({ pool: '10.20.5.0/24' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PoolOverlapError);
    expect((err as Error).message).toContain('LocalDefault/10.20.0.0/16');
    await expect(a.requestPool(poolReq({ pool: '10.20.0.0/16' }))).rejects.toThrow(PoolOverlapError);
    // Another space may hold the same subnet.
    expect((await pool(a, { space: 'GlobalDefault', pool: '10.20.0.0/16' })).id).toBe('GlobalDefault/10.20.0.0/16');
    expect((await pool(a, { pool: '10.21.0.0/24', subPool: '10.21.0.128/25' })).id).toBe('LocalDefault/10.21.0.0/24/10.21.0.128/25');
    expect((await pool(a, { pool: 'fd00:1::/64', v6: true })).id).toBe('LocalDefault/fd00:1::/64');
  });

  it.each<[string, Partial<PoolRequest>, RegExp]>([
    ['unknown space', { space: 'Mine', pool: '10.30.0.0/24' }, /unknown address space "Mine"/],
    ['host bits', { pool: '10.30.0.5/24' }, /host bits set; use 10\.30\.0\.0\/24/],
    ['family vs V6', { pool: '10.30.0.0/24', v6: true }, /IPv4 but V6 is true/],
    ['range outside subnet', { pool: '10.30.0.0/24', subPool: '10.31.0.0/25' }, /not inside pool 10\.30\.0\.0\/24/],
    ['range of the other family', { pool: '10.30.0.0/24', subPool: 'fd00::/64' }, /not inside pool/],
    ['range without subnet', { subPool: '10.30.0.0/25' }, /needs an explicit pool/],
    ['bad serial option', { pool: '10.30.0.0/24', options: { 'com.docker.network.ipam.serial': 'yes' } }, /must be "true" or "false"/],
    ['bad cluster option', { pool: '10.30.0.0/24', options: { cluster: 'yes' } }, /option cluster must be "true" or "false", got "yes"/],
    ['a cluster pool without subnet', { options: { cluster: 'true' } }, /cluster=true needs an explicit --subnet/],
    ['a cluster "any /24"', { pool: '0.0.0.0/24', options: { cluster: 'true' } }, /cluster=true needs an explicit --subnet/],
    ['a cluster pool without cluster store', { pool: '10.30.0.0/24', options: { cluster: 'true' } }, /cluster=true needs tsnet serve --cluster-store etcd:\/\/…/],
  ])('refuses %s with a clear error and changes nothing', async (_name, req, message) => {
    const { allocator: a, store } = await testAllocator();
    await pool(a, { pool: '10.40.0.0/24' });
    const before = await dump(store);
    const err = await a.requestPool(poolReq(req)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidRequestError);
    expect((err as Error).message).toMatch(message);
    expect(await dump(store)).toEqual(before);
  });
});

describe('automatic pools', () => {
  it("follows Docker's local list, skipping pools of the space and host routes", async () => {
    const { allocator: a } = await testAllocator({ routes: ['172.18.0.0/16', '192.0.2.0/24'] });
    await pool(a, { pool: '172.17.3.0/24' });
    expect((await pool(a)).subnet).toBe('172.19.0.0/16');
    expect((await pool(a)).subnet).toBe('172.20.0.0/16');
    expect((await pool(a, { space: 'GlobalDefault' })).subnet).toBe('10.0.0.0/24');
  });

  it('reads the routes at the moment of each request', async () => {
    const routes: string[] = [];
    const { allocator: a } = await testAllocator({
      hostRoutes: async () => routes.map((r) => parsePrefix(r)!),
    });
    const first = await pool(a);
    await a.releasePool(first.id);
    routes.push(first.subnet); // e.g. a VPN came up
    expect((await pool(a)).subnet).not.toBe(first.subnet);
  });

  it('never hands back a pool dockerd is still holding (its overlap retry loop ends)', async () => {
    const { allocator: a } = await testAllocator({ config: { local: ['10.50.0.0/22:24'] } });
    const seen = new Set<string>();
    // dockerd holds every pool it dislikes and asks again; each answer must be new, then fail.
    for (;;) {
      const got = await a.requestPool(poolReq()).catch((e: unknown) => e);
      if (got instanceof Error) {
        expect(got).toBeInstanceOf(PoolExhaustedError);
        expect(got.message).toContain('all predefined address pools have been fully subnetted');
        break;
      }
      const text = formatPrefix((got as Awaited<ReturnType<IpamAllocator['requestPool']>>).subnet);
      expect(seen.has(text)).toBe(false);
      seen.add(text);
    }
    expect(seen.size).toBe(4);
  });

  it('honours a requested length ("0.0.0.0/26", "::/56") and configured pools', async () => {
    const { allocator: a } = await testAllocator({ config: { local: ['10.128.0.0/9:24', 'fd00::/8:64'] } });
    expect((await pool(a, { pool: '0.0.0.0/26' })).subnet).toBe('10.128.0.0/26');
    expect((await pool(a)).subnet).toBe('10.128.1.0/24');
    expect((await pool(a, { v6: true })).subnet).toBe('fd00::/64');
    expect((await pool(a, { pool: '::/56', v6: true })).subnet).toBe('fd00:0:0:100::/56');
  });

  it('defaults IPv6 to a ULA /48 split into /64s', async () => {
    const { allocator: a } = await testAllocator();
    expect((await pool(a, { v6: true })).subnet).toMatch(/^fd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}::\/64$/);
  });
});

describe('addresses', () => {
  it('gives the gateway the lowest free address, endpoints serial ones, aux addresses anywhere', async () => {
    const { allocator: a } = await testAllocator();
    const { id } = await pool(a, { pool: '10.20.0.0/24', subPool: '10.20.0.128/25' });
    expect(await addr(a, id, '', GW)).toBe('10.20.0.128/24');
    expect(await addr(a, id, '10.20.0.2')).toBe('10.20.0.2/24'); // --aux-address outside --ip-range
    expect(await addr(a, id)).toBe('10.20.0.129/24');
    expect(await addr(a, id, '10.20.0.200')).toBe('10.20.0.200/24');
    await a.releaseAddress(id, '10.20.0.129');
    expect(await addr(a, id)).toBe('10.20.0.130/24'); // serial: not the just-freed .129
    const other = await pool(a, { pool: '10.21.0.0/24', options: { 'com.docker.network.ipam.serial': 'false' } });
    expect(await addr(a, other.id, '10.21.0.1', GW)).toBe('10.21.0.1/24');
    expect(await addr(a, other.id)).toBe('10.21.0.2/24');
    await a.releaseAddress(other.id, '10.21.0.2');
    expect(await addr(a, other.id)).toBe('10.21.0.2/24'); // lowest free
  });

  it('exhausts a pool with the Docker message, and never gives an address twice', async () => {
    const { allocator: a } = await testAllocator();
    const { id } = await pool(a, { pool: '10.20.0.0/28' });
    const got = new Set<string>();
    for (let i = 0; i < 14; i++) got.add(await addr(a, id));
    expect(got.size).toBe(14);
    expect([...got]).not.toContain('10.20.0.0/28');
    expect([...got]).not.toContain('10.20.0.15/28');
    await expect(addr(a, id)).rejects.toThrow(refusal('ERR_POOL_EXHAUSTED', /no available addresses on this pool/));
    await expect(addr(a, id)).rejects.toBeInstanceOf(PoolExhaustedError);
  });

  it.each<[string, string, string, unknown]>([
    ['outside the pool', 'LocalDefault/10.20.0.0/24', '10.20.1.5', InvalidRequestError],
    ['of the other family', 'LocalDefault/10.20.0.0/24', 'fd00::5', InvalidRequestError],
    ['the network address', 'LocalDefault/10.20.0.0/24', '10.20.0.0', InvalidRequestError],
    ['the broadcast address', 'LocalDefault/10.20.0.0/24', '10.20.0.255', InvalidRequestError],
    ['already held', 'LocalDefault/10.20.0.0/24', '10.20.0.9', AddressInUseError],
    ['in an unknown pool', 'LocalDefault/10.99.0.0/24', '10.99.0.5', NotFoundError],
  ])('refuses an address %s and changes nothing', async (_name, poolId, address, cls) => {
    const { allocator: a, store } = await testAllocator();
    await pool(a, { pool: '10.20.0.0/24' });
    await addr(a, 'LocalDefault/10.20.0.0/24', '10.20.0.9');
    const before = await dump(store);
    await expect(addr(a, poolId, address)).rejects.toBeInstanceOf(cls);
    expect(await dump(store)).toEqual(before);
  });

  it('hands out IPv6 addresses from a /64 and accepts any address of it', async () => {
    const { allocator: a } = await testAllocator();
    const { id } = await pool(a, { pool: 'fd00:1:2:3::/64', v6: true });
    expect(await addr(a, id, '', GW)).toBe('fd00:1:2:3::1/64');
    expect(await addr(a, id)).toBe('fd00:1:2:3::2/64');
    expect(await addr(a, id, 'fd00:1:2:3:ffff:ffff:ffff:fffe')).toBe('fd00:1:2:3:ffff:ffff:ffff:fffe/64');
  });

  it('gives 200 concurrent requests 200 distinct addresses', async () => {
    const { allocator: a } = await testAllocator();
    const { id } = await pool(a, { pool: '10.20.0.0/24' });
    const got = await Promise.all(Array.from({ length: 200 }, () => addr(a, id)));
    expect(new Set(got).size).toBe(200);
  });
});

describe('releases', () => {
  it('are idempotent, succeed for unknown pools, and refuse a pool with addresses still held', async () => {
    const { allocator: a, store } = await testAllocator();
    const { id } = await pool(a, { pool: '10.20.0.0/24' });
    await addr(a, id, '10.20.0.1', GW);
    await addr(a, id, '10.20.0.7');
    const err = await a.releasePool(id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PoolInUseError);
    expect((err as Error).message).toMatch(/still has 2 allocated addresses \(10\.20\.0\.1, 10\.20\.0\.7\)/);
    await a.releaseAddress(id, '10.20.0.1');
    await a.releaseAddress(id, '10.20.0.1');
    await a.releaseAddress(id, '10.20.0.7');
    await expect(a.releaseAddress(id, '10.21.0.7')).rejects.toBeInstanceOf(InvalidRequestError);
    await a.releasePool(id);
    await a.releasePool(id);
    await a.releaseAddress(id, '10.20.0.7');
    await a.releasePool('LocalDefault/10.99.0.0/24');
    expect(await dump(store)).toEqual([[], [], []]);
    expect((await pool(a, { pool: '10.20.0.0/24' })).id).toBe(id); // the subnet is free again
  });
});

describe('durability', () => {
  it('restores pools, held addresses and the serial position from the store', async () => {
    const store = new MemoryStore();
    const { allocator: a } = await testAllocator({ store });
    const { id } = await pool(a, { pool: '10.20.0.0/24', subPool: '10.20.0.0/25' });
    await addr(a, id, '', GW);
    for (let i = 0; i < 5; i++) await addr(a, id);
    await a.releaseAddress(id, '10.20.0.6');
    const { allocator: b } = await testAllocator({ store });
    expect(b.list()).toEqual(a.list());
    expect(await addr(b, id)).toBe('10.20.0.7/24'); // continues after .6, which was handed out last
    await expect(addr(b, id, '10.20.0.3')).rejects.toBeInstanceOf(AddressInUseError);
    await expect(b.requestPool(poolReq({ pool: '10.20.0.0/16' }))).rejects.toBeInstanceOf(PoolOverlapError);
  });

  it('does not answer before the write is durable, and rolls back when it fails', async () => {
    const store = new MemoryStore();
    const { allocator: a } = await testAllocator({ store });
    const { id } = await pool(a, { pool: '10.20.0.0/24' });
    const diskFull = new Error('disk full');
    const failing: Store = {
      collection: (n) => store.collection(n),
      batch: async () => {
        throw diskFull;
      },
      close: () => store.close(),
    };
    const { allocator: broken } = await testAllocator({ store: failing });
    await expect(addr(broken, id)).rejects.toBe(diskFull);
    expect(broken.list()[0]!.used).toBe(0n);
    expect(broken.list()[0]!.cursor).toBeUndefined(); // the serial position is put back too
    await expect(addr(broken, id, '10.20.0.9')).rejects.toBe(diskFull);
    expect(broken.list()[0]!.used).toBe(0n);
  });
});

describe('a cluster backend (claims can lose to another host)', () => {
  it('skips addresses a peer took for next-free, and refuses them when asked for', async () => {
    const peer = new Set(['10.20.0.2', '10.20.0.3', '10.20.0.9']);
    const local = new StorePersistence(new MemoryStore());
    const persistence: IpamPersistence = {
      load: () => local.load(),
      createPool: (p) => local.createPool(p),
      deletePool: (id, a) => local.deletePool(id, a),
      releaseAddresses: (id, a) => local.releaseAddresses(id, a),
      addresses: (id) => local.addresses(id),
      claimAddress: async (rec, cursor) => (peer.has(rec.address) ? { ...rec, host: 'peer' } : local.claimAddress(rec, cursor)),
    };
    const a = await IpamAllocator.open({ persistence, defaultPools: resolveConfig({}, 'h'), hostRoutes: async () => [], log: silentLogger() });
    const { id } = await pool(a, { pool: '10.20.0.0/24' });
    expect(await addr(a, id, '', GW)).toBe('10.20.0.1/24');
    expect(await addr(a, id)).toBe('10.20.0.4/24');
    await expect(addr(a, id, '10.20.0.9')).rejects.toThrow(refusal('ERR_ADDRESS_IN_USE', /Address already in use \(held by host peer\)/));
    expect((await a.inspect(id)).addresses.map((r) => r.address)).toEqual(['10.20.0.1', '10.20.0.4']);
  });
});

describe('inspect and gc', () => {
  it('shows who holds what, by pool ID or subnet', async () => {
    const at = new Date('2025-01-01T00:00:00.000Z');
    const { allocator: a } = await testAllocator({ now: () => at });
    const { id } = await pool(a, { pool: '10.20.0.0/24' });
    await addr(a, id, '', GW);
    await addr(a, id, '', { 'com.docker.network.endpoint.name': 'web', 'com.docker.network.endpoint.macaddress': '02:42:0a:14:00:02' });
    await addr(a, id, '10.20.0.250');
    const { summary, addresses } = await a.inspect('10.20.0.0/24');
    expect(summary).toMatchObject({ size: 254n, used: 3n, free: 251n, cursor: '10.20.0.2' });
    expect(addresses.map((r) => [r.address, r.kind, r.name, r.mac, r.at])).toEqual([
      ['10.20.0.1', 'gateway', undefined, undefined, at.toISOString()],
      ['10.20.0.2', 'endpoint', 'web', '02:42:0a:14:00:02', at.toISOString()],
      ['10.20.0.250', 'aux', undefined, undefined, at.toISOString()],
    ]);
    await expect(a.inspect('10.77.0.0/24')).rejects.toBeInstanceOf(NotFoundError);
    await pool(a, { space: 'GlobalDefault', pool: '10.20.0.0/24' });
    await expect(a.inspect('10.20.0.0/24')).rejects.toThrow(refusal('ERR_INVALID_REQUEST', /give a pool ID/));
  });

  it('collects what Docker does not know and was held before the cut-off, dry-run first', async () => {
    let now = new Date('2025-01-01T00:00:00.000Z');
    const { allocator: a } = await testAllocator({ now: () => now });
    const known = await pool(a, { pool: '10.20.0.0/24' });
    const lost = await pool(a, { pool: '10.21.0.0/24' });
    await addr(a, known.id, '', GW);
    await addr(a, known.id); // .2, Docker knows it
    await addr(a, known.id); // .3, leaked
    await addr(a, lost.id, '', GW);
    const cutoff = new Date('2025-01-01T00:01:00.000Z');
    now = new Date('2025-01-01T00:02:00.000Z');
    await addr(a, known.id); // .4, allocated after Docker was read: must survive
    const view = { subnets: ['10.20.0.0/24'], addresses: ['10.20.0.2'] }; // the gateway .1 is kept anyway
    const planned = await a.collect(view, cutoff, true);
    expect(planned).toEqual([
      { poolId: known.id, address: '10.20.0.3', reason: 'address unknown to docker' },
      { poolId: lost.id, address: '10.21.0.1', reason: 'pool unknown to docker' },
      { poolId: lost.id, reason: 'pool unknown to docker' },
    ]);
    expect(a.list().map((p) => p.used)).toEqual([4n, 1n]);
    expect(await a.collect(view, cutoff, false)).toEqual(planned);
    expect(a.list().map((p) => [p.record.id, p.used])).toEqual([[known.id, 3n]]);
    expect(await a.collect(view, cutoff, false)).toEqual([]);
  });
});
