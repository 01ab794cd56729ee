/**
 * tsvol against Docker's built-in `local` driver, side by side in one run, through the docker CLI as
 * a user would: `volume create`, `run --rm -v VOL:/data IMAGE true`, `volume ls` with 2,000 volumes
 * of the driver, `volume rm`. A third driver, the instant plugin (testing/docker/fixture-instant-volume.ts,
 * which answers every call at once from memory), gives the floor: what dockerd charges any plugin.
 * Each round runs the drivers in an order that rotates, so drift hits all alike. Prints the plugin
 * calls dockerd made per command, a table (median and p90 wall time per command, ratios of medians),
 * then one JSON line. Ratios are given of the medians and as the median of each round's ratio. Needs root; uses the dockerd that answers (or starts one for the run), and
 * starts its own `tsnet serve --only volume` (build first).
 *
 *   npm run bench -- volume-bench [rounds=30] [listed=2000]
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { startInstantVolumePlugin, type InstantVolumePlugin } from '../testing/docker/fixture-instant-volume.js';
import { startSuite, type SuiteHandle } from '../testing/docker/plugin-harness.js';
import { ensureDockerd, ensureTestImage, mustRun, tryRun } from '../testing/system.js';
import { percentile, printTable } from '../testing/measure/stats.js';

const rounds = Number(process.argv[2] ?? 30);
const listed = Number(process.argv[3] ?? 2000);
const LS_ROUNDS = 7;
const WARMUP = 3;
const DOCKER_SOCKET = '/var/run/docker.sock';

type Driver = 'local' | 'instant' | 'tsvol';
const DRIVERS: readonly Driver[] = ['local', 'instant', 'tsvol'];

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

/** Every driver once, in an order that rotates, and reverses, from round to round. */
function order(round: number): readonly Driver[] {
  const r = ((round % 6) + 6) % 6;
  const turned = [...DRIVERS.slice(r % 3), ...DRIVERS.slice(0, r % 3)];
  return r < 3 ? turned : turned.reverse();
}

const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
/** The median of `a[k] / b[k]` over the rounds. */
const pairedRatio = (a: readonly number[], b: readonly number[]) => Math.round(percentile(a.map((x, k) => (x / b[k]!) * 100), 50)) / 100;

/** Median handler time per call, from the `request` lines of the plugin's log: `Call ×n p50 ms`, …. */
function serverTimes(logs: string): string {
  const ms: Record<string, number[]> = {};
  for (const line of logs.split('\n')) {
    if (!line.startsWith('{')) continue;
    const l = JSON.parse(line) as { msg?: string; call?: string; ms?: number };
    if (l.msg === 'request' && l.call !== undefined && l.ms !== undefined) (ms[l.call] ??= []).push(l.ms);
  }
  return Object.entries(ms).map(([call, v]) => `${call} ×${v.length} ${percentile(v, 50)} ms`).join(', ');
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log('volume bench skipped: needs root');
    return;
  }
  // Another run holding the lock before this one may have stopped the dockerd it had started.
  const dockerd = await ensureDockerd();
  const image = await ensureTestImage();
  const hex = randomBytes(3).toString('hex');
  const made = new Set<string>();
  let suite: SuiteHandle | undefined;
  let instant: InstantVolumePlugin | undefined;
  try {
    suite = await startSuite({ only: ['volume'] });
    instant = await startInstantVolumePlugin();
    const driverName: Record<Driver, string> = { local: 'local', instant: instant.driver, tsvol: suite.driverNames.volume };
    const name = (d: Driver, i: number | string) => `tstest-bench-${hex}-${d}-${i}`;
    const samples: Record<string, Record<Driver, number[]>> = {};
    const record = (op: string, d: Driver, ms: number) => ((samples[op] ??= { local: [], instant: [], tsvol: [] })[d].push(ms));
    /** The plugin calls dockerd made per command (seen by the instant plugin in its first round). */
    const calls: Record<string, Record<string, number>> = {};

    for (let i = -WARMUP; i < rounds; i++) {
      for (const d of order(i)) {
        const v = name(d, i);
        made.add(v);
        const seen = (op: string) => (d === 'instant' && i === -WARMUP + 1 ? (calls[op] = instant!.takeCalls()) : undefined);
        instant.takeCalls();
        const create = await timed(['volume', 'create', '-d', driverName[d], v]);
        seen('volume create');
        const run = await timed(['run', '--rm', '--network', 'none', '-v', `${v}:/data`, image, 'true']);
        seen('run -v');
        const rm = await timed(['volume', 'rm', v]);
        seen('volume rm');
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
        instant.takeCalls();
        const t0 = performance.now();
        const out = (await mustRun(['docker', 'volume', 'ls', '-q', '--filter', `driver=${driverName[d]}`])).stdout;
        const ms = performance.now() - t0;
        const n = out.split('\n').filter((l) => l.startsWith(`tstest-bench-${hex}-${d}-ls`)).length;
        if (n !== listed) throw new Error(`docker volume ls listed ${n} ${d} volumes, expected ${listed}`);
        if (i >= 0) record(`volume ls (${listed} volumes)`, d, ms);
        if (d === 'instant' && i === 0) calls['volume ls'] = instant.takeCalls();
      }
    }

    const rows = Object.entries(samples).map(([op, s]) => {
      const [local, floor, tsvol] = DRIVERS.map((d) => percentile(s[d], 50)) as [number, number, number];
      return {
        operation: op,
        n: s.local.length,
        'local p50 ms': local,
        'instant p50 ms': floor,
        'tsvol p50 ms': tsvol,
        'local p90 ms': percentile(s.local, 90),
        'tsvol p90 ms': percentile(s.tsvol, 90),
        'instant/local': ratio(floor, local),
        'tsvol/local': ratio(tsvol, local),
        'tsvol/instant': ratio(tsvol, floor),
        // Each round times all three drivers back to back: the median of the rounds' ratios is less
        // moved by drift over the run than the ratio of the medians.
        'instant/local (pairs)': pairedRatio(s.instant, s.local),
        'tsvol/local (pairs)': pairedRatio(s.tsvol, s.local),
      };
    });
    console.log('tsvol server time per call (its request log, whole run): ' + serverTimes(suite.logs()));
    for (const [op, c] of Object.entries(calls)) console.log(`plugin calls for ${op}: ${Object.entries(c).map(([k, n]) => `${k}×${n}`).join(', ')}`);
    const version = (await mustRun(['docker', 'version', '--format', '{{.Server.Version}}'])).stdout.trim();
    printTable(`tsvol vs local (docker ${version}), wall time per docker CLI command`, rows);
    console.log(JSON.stringify({ bench: 'volume', rounds, listed, calls, results: rows }));
  } finally {
    await parallel([...made], 16, (v) => engine('DELETE', `/volumes/${v}?force=true`).catch(() => undefined));
    await instant?.stop();
    await suite?.stop();
    await dockerd.stop();
  }
}

await main();
