/**
 * tsvol against Docker's built-in `local` driver, side by side in one run, through the docker CLI as
 * a user would: `volume create`, `run --rm -v VOL:/data IMAGE true`, `volume ls` with 2,000 volumes
 * of the driver, `volume rm`. Each round runs both drivers, in alternating order, so drift hits
 * both alike. Prints a table (median and p90 wall time per command, ratio of medians), then one
 * JSON line. Needs root and a dockerd; starts its own `tsnet serve --only volume` (build first).
 *
 *   npm run bench -- volume-bench [rounds=30] [listed=2000]
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { startSuite, type SuiteHandle } from '../testing/docker/plugin-harness.js';
import { ensureTestImage, mustRun, tryRun } from '../testing/system.js';
import { percentile, printTable } from '../testing/measure/stats.js';

const rounds = Number(process.argv[2] ?? 30);
const listed = Number(process.argv[3] ?? 2000);
const LS_ROUNDS = 7;
const WARMUP = 3;
const DOCKER_SOCKET = '/var/run/docker.sock';

type Driver = 'local' | 'tsvol';
const DRIVERS: readonly Driver[] = ['local', 'tsvol'];

/** One call to the Docker Engine API (for bulk set-up, which is not measured). */
function engine(method: 'POST' | 'DELETE', path: string, body?: object): Promise<number> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? '' : JSON.stringify(body);
    const req = request(
      { socketPath: DOCKER_SOCKET, method, path, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) } },
      (res) => res.resume().on('end', () => resolve(res.statusCode ?? 0)),
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Runs `fn` over `items`, `width` at a time. */
async function parallel<T>(items: readonly T[], width: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  const queue = [...items];
  await Promise.all(Array.from({ length: width }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
  }));
}

/** Wall time of one docker CLI command, in ms; throws if it fails. */
async function timed(args: string[]): Promise<number> {
  const t0 = performance.now();
  const r = await tryRun(['docker', ...args]);
  const ms = performance.now() - t0;
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')} failed: ${r.stderr.trim()}`);
  return ms;
}

/** Both drivers once each, in an order that flips every round. */
const order = (round: number): readonly Driver[] => (round % 2 === 0 ? DRIVERS : [...DRIVERS].reverse());

async function main(): Promise<void> {
  if (process.getuid?.() !== 0 || (await tryRun(['docker', 'info', '--format', '{{.ServerVersion}}'])).code !== 0) {
    console.log('volume bench skipped: needs root and a dockerd that answers');
    return;
  }
  const image = await ensureTestImage();
  const hex = randomBytes(3).toString('hex');
  const made = new Set<string>();
  let suite: SuiteHandle | undefined;
  try {
    suite = await startSuite({ only: ['volume'] });
    const driverName: Record<Driver, string> = { local: 'local', tsvol: suite.driverNames.volume };
    const name = (d: Driver, i: number | string) => `tstest-bench-${hex}-${d}-${i}`;
    const samples: Record<string, Record<Driver, number[]>> = {};
    const record = (op: string, d: Driver, ms: number) => ((samples[op] ??= { local: [], tsvol: [] })[d].push(ms));

    for (let i = -WARMUP; i < rounds; i++) {
      for (const d of order(i)) {
        const v = name(d, i);
        made.add(v);
        const create = await timed(['volume', 'create', '-d', driverName[d], v]);
        const run = await timed(['run', '--rm', '--network', 'none', '-v', `${v}:/data`, image, 'true']);
        const rm = await timed(['volume', 'rm', v]);
        made.delete(v);
        if (i < 0) continue;
        record('volume create', d, create);
        record('run --rm -v VOL:/data IMAGE true', d, run);
        record('volume rm', d, rm);
      }
    }

    const bulk = DRIVERS.flatMap((d) => Array.from({ length: listed }, (_, i) => ({ d, v: name(d, `ls${i}`) })));
    await parallel(bulk, 16, async ({ d, v }) => {
      made.add(v);
      const status = await engine('POST', '/volumes/create', { Name: v, Driver: driverName[d] });
      if (status !== 201) throw new Error(`creating ${v} through the Engine API answered ${status}`);
    });
    for (let i = -1; i < LS_ROUNDS; i++) {
      for (const d of order(i)) {
        const t0 = performance.now();
        const out = (await mustRun(['docker', 'volume', 'ls', '-q', '--filter', `driver=${driverName[d]}`])).stdout;
        const ms = performance.now() - t0;
        const n = out.split('\n').filter((l) => l.startsWith(`tstest-bench-${hex}-${d}-ls`)).length;
        if (n !== listed) throw new Error(`docker volume ls listed ${n} ${d} volumes, expected ${listed}`);
        if (i >= 0) record(`volume ls (${listed} volumes)`, d, ms);
      }
    }

    const rows = Object.entries(samples).map(([op, s]) => {
      const local = percentile(s.local, 50);
      const tsvol = percentile(s.tsvol, 50);
      return {
        operation: op,
        n: s.local.length,
        'local p50 ms': local,
        'tsvol p50 ms': tsvol,
        'local p90 ms': percentile(s.local, 90),
        'tsvol p90 ms': percentile(s.tsvol, 90),
        'ratio (p50)': Math.round((tsvol / local) * 100) / 100,
      };
    });
    const version = (await mustRun(['docker', 'version', '--format', '{{.Server.Version}}'])).stdout.trim();
    printTable(`tsvol vs local (docker ${version}), wall time per docker CLI command`, rows);
    console.log(JSON.stringify({ bench: 'volume', rounds, listed, results: rows }));
  } finally {
    await parallel([...made], 16, (v) => engine('DELETE', `/volumes/${v}?force=true`).catch(() => undefined));
    await suite?.stop();
  }
}

await main();
