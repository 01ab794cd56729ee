/**
 * tsipam benchmark, four parts, one run:
 *  1. allocations/s of the allocator alone (the pure pool, and the whole allocator over a no-op store);
 *  2. allocations/s over the unix socket with durability (`tsnet serve --only ipam` in its own process,
 *     LevelDB with an fsync per group commit), with 1, 16 and 64 requests in flight, best and median of 3;
 *  3. heap used by a /8 and a /64 pool (empty, full or 1M allocated, and fragmented);
 *  4. `docker network create` + `rm` with tsipam vs Docker's default IPAM, interleaved (root + dockerd).
 * Prints tables, then one JSON line.
 *
 *   npm run bench -- ipam-bench [socketAllocs=20000] [dockerRounds=15]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { AddressPool } from '../ipam/core/address-pool.js';
import { IpamAllocator } from '../ipam/core/allocator.js';
import { start } from '../common/kernel/exec.js';
import { freeSubnets } from '../testing/kernel/subnets.js';
import { cliPath, docker, dockerOk, pluginAnswers, startSuite } from '../testing/docker/plugin-harness.js';
import { resolveConfig } from '../ipam/config.js';
import type { IpamPersistence } from '../ipam/core/persistence.js';
import { parsePrefix } from '../common/addr/prefix.js';
import { silentLogger } from '../ipam/testing/fixture-allocator.js';
import { percentile, printTable } from '../testing/measure/stats.js';

const socketAllocs = Number(process.argv[2] ?? 20_000);
const dockerRounds = Number(process.argv[3] ?? 15);

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
/** JS heap plus ArrayBuffer backing stores (where typed-array runs live), after a full GC. */
function memoryUsed(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

const pool = (subnet: string) => new AddressPool({ id: `bench/${subnet}`, space: 'LocalDefault', subnet: parsePrefix(subnet)! });
const rate = (n: number, ms: number) => Math.round((n / ms) * 1000);

/** Persistence that keeps nothing: measures the allocator's own cost. */
const noStore: IpamPersistence = {
  load: async () => ({ pools: [], addresses: [], cursors: new Map() }),
  createPool: async () => undefined,
  deletePool: async () => undefined,
  claimAddress: async () => undefined,
  releaseAddresses: async () => undefined,
  addresses: async () => [],
};

async function allocatorAlone(): Promise<Array<Record<string, string | number>>> {
  const n = 1_000_000;
  const rows: Array<Record<string, string | number>> = [];
  for (const subnet of ['10.0.0.0/8', 'fd00::/64']) {
    const p = pool(subnet);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) p.claimNext('serial');
    rows.push({ case: `pool.claimNext, ${subnet}`, allocations: n, per_s: rate(n, performance.now() - t0) });
  }
  const a = await IpamAllocator.open({
    persistence: noStore,
    defaultPools: resolveConfig({}, 'bench'),
    hostRoutes: async () => [],
    log: silentLogger(),
  });
  const { id } = await a.requestPool({ space: '', pool: '10.0.0.0/8', subPool: '', v6: false, options: {} });
  const m = 300_000;
  const t0 = performance.now();
  for (let done = 0; done < m; done += 1000) {
    await Promise.all(Array.from({ length: 1000 }, () => a.requestAddress({ poolId: id, address: '', options: {} })));
  }
  rows.push({ case: 'allocator.requestAddress (lock, records), no-op store, /8', allocations: m, per_s: rate(m, performance.now() - t0) });
  return rows;
}

function post(socketPath: string, agent: Agent, path: string, body: object): Promise<string> {
  const text = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, agent, method: 'POST', path, headers: { 'Content-Length': Buffer.byteLength(text) } }, (res) => {
      let out = '';
      res.setEncoding('utf8').on('data', (d: string) => (out += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(out) : reject(new Error(`${path}: ${res.statusCode} ${out}`))));
    });
    req.on('error', reject);
    req.end(text);
  });
}

/** Runs `tsnet serve --only ipam` in its own process (as in production) and stops it after `fn`. */
async function withServer<T>(fn: (socket: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'tstest-ipam-bench-'));
  const socket = join(dir, 'tsipam.sock');
  // Agreement off: the bench's pools are no Docker network's.
  const args = ['serve', '--plugins-dir', dir, '--state-dir', join(dir, 'state'), '--only', 'ipam', '--docker-host', 'none', '--engine-lite-state', 'none'];
  const child = start([process.execPath, cliPath(), ...args], { stdout: 'ignore', stderr: 'ignore' });
  try {
    for (let i = 0; i < 100 && !(await pluginAnswers(socket)); i++) await new Promise((r) => setTimeout(r, 100));
    return await fn(socket);
  } finally {
    child.kill('SIGTERM');
    await child.done;
    await rm(dir, { recursive: true, force: true });
  }
}

async function overSocket(): Promise<Array<Record<string, string | number>>> {
  return withServer(async (socket) => {
    const rows: Array<Record<string, string | number>> = [];
    const { PoolID } = JSON.parse(await post(socket, new Agent(), '/IpamDriver.RequestPool', { Pool: '10.0.0.0/8' })) as { PoolID: string };
    for (const inFlight of [1, 16, 64]) {
      const n = inFlight === 1 ? Math.min(socketAllocs, 2000) : socketAllocs;
      const rates: number[] = [];
      const latencies: number[] = [];
      for (let rep = 0; rep < 3; rep++) {
        const agent = new Agent({ keepAlive: true, maxSockets: inFlight });
        let next = 0;
        const t0 = performance.now();
        await Promise.all(
          Array.from({ length: inFlight }, async () => {
            while (next++ < n) {
              const s = performance.now();
              await post(socket, agent, '/IpamDriver.RequestAddress', { PoolID, Address: '', Options: {} });
              latencies.push(performance.now() - s);
            }
          }),
        );
        rates.push(rate(n, performance.now() - t0));
        agent.destroy();
      }
      rows.push({
        case: `RequestAddress, durable, ${inFlight} in flight`,
        allocations: `3 x ${n}`,
        median_per_s: percentile(rates, 50),
        best_per_s: Math.max(...rates),
        p50_ms: percentile(latencies, 50),
        p99_ms: percentile(latencies, 99),
      });
    }
    return rows;
  });
}

function memory(): Array<Record<string, string | number>> {
  const rows: Array<Record<string, string | number>> = [];
  const measure = (name: string, build: () => AddressPool) => {
    const before = memoryUsed();
    const p = build();
    const bytes = memoryUsed() - before;
    rows.push({ case: name, held: String(p.usage().used), runs: p.runCount, KiB: Math.round(bytes / 102.4) / 10 });
    return p;
  };
  measure('/8 empty', () => pool('10.0.0.0/8'));
  measure('/8 full (16,777,214 held)', () => {
    const p = pool('10.0.0.0/8');
    for (;;) {
      try {
        p.claimNext('serial');
      } catch {
        return p;
      }
    }
  });
  /** 200k handed out, then every second one released: 100k runs, the fragmented case. */
  const fragmented = (subnet: string) => () => {
    const p = pool(subnet);
    const got = Array.from({ length: 200_000 }, () => p.claimNext('serial'));
    got.forEach((a, i) => i % 2 === 0 && p.release(a));
    return p;
  };
  measure('/8, 200k held, every 2nd of them released', fragmented('10.0.0.0/8'));
  measure('/64 empty', () => pool('fd00::/64'));
  measure('/64, 1M held', () => {
    const p = pool('fd00::/64');
    for (let i = 0; i < 1_000_000; i++) p.claimNext('serial');
    return p;
  });
  measure('/64, 200k held, every 2nd of them released', fragmented('fd00::/64'));
  measure('/48, 200k held, every 2nd of them released (bigint storage)', fragmented('fd00::/48'));
  return rows;
}

async function dockerCreateRm(): Promise<Array<Record<string, string | number>> | string> {
  if (process.getuid?.() !== 0) return 'skipped: needs root';
  if ((await docker(['version', '--format', '{{.Server.Version}}'])).code !== 0) return 'skipped: no dockerd answers';
  const suite = await startSuite({ only: ['ipam'] });
  const [subnet] = await freeSubnets(1, { family: 4, prefixLen: 24 });
  const name = `tstest-ipambench-${process.pid}`;
  const samples: Record<string, number[]> = { tsipam: [], default: [] };
  try {
    for (let i = 0; i < dockerRounds; i++) {
      for (const [label, ipam] of [['tsipam', suite.driverNames.ipam], ['default', 'default']] as const) {
        const t0 = performance.now();
        await dockerOk(['network', 'create', '--driver', 'bridge', '--ipam-driver', ipam, '--subnet', subnet!, name]);
        await dockerOk(['network', 'rm', name]);
        samples[label]!.push(performance.now() - t0);
      }
    }
  } finally {
    await docker(['network', 'rm', name]);
    await suite.stop();
  }
  return Object.entries(samples).map(([ipam, s]) => ({ ipam, rounds: s.length, p50_ms: percentile(s, 50), p90_ms: percentile(s, 90), min_ms: percentile(s, 0) }));
}

const alone = await allocatorAlone();
printTable('1. allocator alone (target >= 200,000/s)', alone);
const socket = await overSocket();
printTable('2. over the socket, every allocation durable before the reply (target >= 5,000/s)', socket);
const mem = memory();
printTable('3. heap per pool (target <= 4 MiB for a /8)', mem);
const dockerTimes = await dockerCreateRm();
if (typeof dockerTimes === 'string') console.log(`\n4. docker network create + rm: ${dockerTimes}`);
else printTable('4. docker network create + rm (bridge driver), tsipam vs default IPAM, interleaved', dockerTimes);
console.log(JSON.stringify({ bench: 'ipam', results: { allocator: alone, socket, memory: mem, docker: dockerTimes } }));
