/**
 * tsipam under `kill -9`: the real `tsnet serve --only ipam` is killed at random moments while many
 * RequestAddress/ReleaseAddress calls are in flight, then restarted, several times. Every acknowledged
 * allocation must be on disk exactly once afterwards, every acknowledged release must be gone, and no
 * address held may be handed out again. Unacknowledged calls may have landed or not (gc finds leaks).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TsnetIpamResponses } from '../ipam/admin/admin-api.js';
import { seededRandom } from '../ipam/testing/fixture-allocator.js';
import { freeSubnets } from '../testing/kernel/subnets.js';
import { pluginCall, startSuite, type SuiteHandle } from '../testing/docker/plugin-harness.js';

const ROUNDS = 8;
const WORKERS = 16;

let suite: SuiteHandle;
let poolId: string;

beforeAll(async () => {
  suite = await startSuite({ only: ['ipam'] });
  const [subnet] = await freeSubnets(1, { family: 4, prefixLen: 16 });
  const reply = await pluginCall(suite.sockets.ipam, 'IpamDriver.RequestPool', { Pool: subnet, Options: {} });
  poolId = (reply.json as { PoolID: string }).PoolID;
});

afterAll(async () => {
  await suite?.stop();
});

/** What the calls about an address said: `releasing` is a release sent but not acknowledged (it may have landed). */
type Known = 'held' | 'releasing' | 'released';

describe('tsipam crash safety', () => {
  it(`keeps every acknowledged allocation exactly once across ${ROUNDS} kill -9s during load`, async () => {
    const rnd = seededRandom(42);
    const known = new Map<string, Known>();
    let acknowledged = 0;
    for (let round = 0; round < ROUNDS; round++) {
      let stop = false;
      const worker = async () => {
        while (!stop) {
          const r = await pluginCall(suite.sockets.ipam, 'IpamDriver.RequestAddress', { PoolID: poolId, Address: '', Options: {} }).catch(() => undefined);
          if (r?.status !== 200) return; // killed: the call may or may not have landed
          const ip = (r.json as { Address: string }).Address.split('/')[0]!;
          expect(known.get(ip) ?? 'released').toBe('released'); // never handed out while (maybe) held
          known.set(ip, 'held');
          acknowledged++;
          if (rnd() < 0.2) {
            known.set(ip, 'releasing');
            const rel = await pluginCall(suite.sockets.ipam, 'IpamDriver.ReleaseAddress', { PoolID: poolId, Address: ip }).catch(() => undefined);
            if (rel?.status !== 200) return;
            known.set(ip, 'released');
          }
        }
      };
      const workers = Array.from({ length: WORKERS }, worker);
      await new Promise((r) => setTimeout(r, 100 + rnd() * 300));
      await suite.kill9();
      stop = true;
      await Promise.all(workers);
      await suite.restart();
    }
    expect(acknowledged).toBeGreaterThan(ROUNDS * WORKERS);

    const inspect = await pluginCall(suite.sockets.ipam, 'TsnetIpam.Inspect', { Pool: poolId });
    const onDisk = (inspect.json as TsnetIpamResponses['Inspect']).Addresses.map((a) => a.Address);
    expect(new Set(onDisk).size).toBe(onDisk.length);
    const stored = new Set(onDisk);
    const held = [...known].filter(([, k]) => k === 'held').map(([ip]) => ip);
    const released = [...known].filter(([, k]) => k === 'released').map(([ip]) => ip);
    expect(held.filter((ip) => !stored.has(ip))).toEqual([]);
    // Serial allocation never wraps round a /16 here, and the serial position is durable with each
    // allocation, so a released address is never handed out again: one still stored is a lost release.
    expect(released.filter((ip) => stored.has(ip))).toEqual([]);

    // After all the crashes, new allocations never return an address that is held.
    const fresh = await Promise.all(
      Array.from({ length: 100 }, () => pluginCall(suite.sockets.ipam, 'IpamDriver.RequestAddress', { PoolID: poolId, Address: '', Options: {} })),
    );
    for (const r of fresh) {
      expect(r.status).toBe(200);
      expect(stored.has((r.json as { Address: string }).Address.split('/')[0]!)).toBe(false);
    }
  });
});
