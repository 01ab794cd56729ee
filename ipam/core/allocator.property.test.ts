import { describe, expect, it } from 'vitest';
import { formatIp, parseIp } from '../../common/addr/parse.js';
import { PluginError } from '../../common/protocol/errors.js';
import { MemoryStore } from '../../common/store/memory-store.js';
import type { IpamAllocator } from './allocator.js';
import { parsePrefix } from '../../common/addr/prefix.js';
import { seededRandom, testAllocator } from '../testing/fixture-allocator.js';

const POOLS = [
  { pool: '10.60.0.0/27', subPool: '10.60.0.8/29', v6: false },
  { pool: '10.61.0.0/30', subPool: '', v6: false },
  { pool: 'fd00:61::/120', subPool: '', v6: true },
];

/**
 * Random sequences of requests, releases and restarts, checked against a model of what is held:
 * no address is ever handed out while held, every answer is inside its pool, failures change nothing,
 * and after every restart the allocator holds exactly what the model holds.
 */
describe('property: never the same address twice', () => {
  it.each([11, 22, 33, 44, 55, 66])('seed %i', async (seed) => {
    const rnd = seededRandom(seed);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
    const store = new MemoryStore();
    let a: IpamAllocator = (await testAllocator({ store })).allocator;
    const held = new Map<string, Set<string>>();
    for (const p of POOLS) held.set((await a.requestPool({ space: '', options: {}, ...p })).id, new Set());
    const ids = [...held.keys()];

    for (let step = 0; step < 1500; step++) {
      const id = pick(ids);
      const mine = held.get(id)!;
      const subnet = parsePrefix(POOLS[ids.indexOf(id)]!.pool)!;
      const r = rnd();
      if (r < 0.45) {
        // Bursts of concurrent next-free requests.
        const n = 1 + Math.floor(rnd() * 6);
        const results = await Promise.allSettled(Array.from({ length: n }, () => a.requestAddress({ poolId: id, address: '', options: {} })));
        for (const res of results) {
          if (res.status === 'rejected') {
            expect(res.reason).toBeInstanceOf(PluginError);
            continue;
          }
          const ip = res.value.split('/')[0]!;
          expect(mine.has(ip)).toBe(false);
          const v = parseIp(ip)!.addr;
          expect(v > subnet.first && v <= subnet.last).toBe(true);
          mine.add(ip);
        }
      } else if (r < 0.6) {
        const ip = formatIp(subnet.family, subnet.first + BigInt(Math.floor(rnd() * Number(subnet.last - subnet.first + 1n))));
        const ok = await a.requestAddress({ poolId: id, address: ip, options: {} }).then(
          () => true,
          () => false,
        );
        if (ok) {
          expect(mine.has(ip)).toBe(false);
          mine.add(ip);
        }
      } else if (r < 0.95) {
        const victim = mine.size > 0 && rnd() < 0.8 ? pick([...mine]) : formatIp(subnet.family, subnet.first + 1n);
        await a.releaseAddress(id, victim);
        mine.delete(victim);
      } else {
        a = (await testAllocator({ store })).allocator;
        for (const s of a.list()) expect(s.used).toBe(BigInt(held.get(s.record.id)!.size));
      }
    }
    const stored = await store.collection<{ poolId: string; address: string }>('addresses').entries();
    expect(stored.map(([, r]) => `${r.poolId} ${r.address}`).sort()).toEqual(
      [...held].flatMap(([id, ips]) => [...ips].map((ip) => `${id} ${ip}`)).sort(),
    );
  });
});
