/**
 * `engine-lite run --rm IMAGE true` against `docker run --rm IMAGE true` on the same busybox image,
 * side by side in one run, through each CLI as a user would: without a network (`--network none`,
 * which is engine-lite's default; dockerd's default bridge is not usable on the test hosts), a
 * detached `run -d` followed by `rm -f`, and on a tsnet `mode=none` network (the plugin path: IPAM
 * address, endpoint, join, and the reverse). Each
 * round runs both engines in alternating order, so drift hits both alike (the ratio is given both
 * of the medians and as the median of each round's pair); `node -e 0` is timed too, as the floor any
 * Node CLI pays, with and without NODE_EXTRA_CA_CERTS (a CA bundle Node parses at start). Prints a
 * table (median and p90 wall time, both ratios), then one JSON line. Needs root; starts dockerd if none answers (and stops it again) and its own
 * `tsnet serve`. Build first, and run it under /tmp/tsnet-dockerd.lock:
 *
 *   flock /tmp/tsnet-dockerd.lock npm run bench -- engine-lite-run [rounds=30]
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { engineLiteRuntime, type EngineLiteRuntime } from '../testing/docker/engine-lite-runtime.js';
import { startSuite, type SuiteHandle } from '../testing/docker/plugin-harness.js';
import { dockerRuntime, type Runtime } from '../testing/docker/runtime.js';
import { ensureDockerd, ensureTestImage, mustRun, tryRun } from '../testing/system.js';
import { percentile, printTable } from '../testing/measure/stats.js';

const rounds = Number(process.argv[2] ?? 30);
const WARMUP = 3;

type Engine = 'docker' | 'engine-lite';

/** Wall time of a sequence of CLI commands, in ms (`{id}` in an argument: the first command's output); throws if one fails. */
async function timed(rt: Runtime, commands: string[][]): Promise<number> {
  let id = '';
  const t0 = performance.now();
  for (const args of commands) {
    const real = args.map((a) => a.replace('{id}', id));
    const r = await rt.cli(real);
    if (r.code !== 0) throw new Error(`${rt.name} ${real.join(' ')} failed: ${r.stderr.trim()}`);
    id ||= r.stdout.trim();
  }
  return performance.now() - t0;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log('engine-lite bench skipped: needs root');
    return;
  }
  const dockerd = await ensureDockerd();
  const net = `tstest-bench-${randomBytes(3).toString('hex')}`;
  let suite: SuiteHandle | undefined;
  let el: EngineLiteRuntime | undefined;
  let docker: Runtime | undefined;
  try {
    const image = await ensureTestImage();
    suite = await startSuite();
    el = await engineLiteRuntime(suite, { image });
    docker = dockerRuntime(suite, image);
    const rts: Record<Engine, Runtime> = { docker, 'engine-lite': el };
    for (const rt of Object.values(rts)) await rt.ok(['network', 'create', '-d', rt.drivers.network, '--ipam-driver', rt.drivers.ipam, '-o', 'mode=none', net]);

    // Each operation is one or more CLI commands, timed together; `{id}` is the ID the first printed.
    const ops: Record<string, string[][]> = {
      'run --rm IMAGE true': [['run', '--rm', '--network', 'none', image, 'true']],
      'run -d IMAGE sleep 60, then rm -f': [['run', '-d', '--network', 'none', image, 'sleep', '60'], ['rm', '-f', '{id}']],
      'run --rm --network <tsnet none> IMAGE true': [['run', '--rm', '--network', net, image, 'true']],
    };
    const samples: Record<string, Record<Engine, number[]>> = {};
    const floor: number[] = [];
    // This VM's environment sets NODE_EXTRA_CA_CERTS, which Node parses before any code runs.
    const floorNoCa: number[] = [];
    const { NODE_EXTRA_CA_CERTS: _, ...envNoCa } = process.env;
    for (let i = -WARMUP; i < rounds; i++) {
      const order: Engine[] = i % 2 === 0 ? ['docker', 'engine-lite'] : ['engine-lite', 'docker'];
      for (const [op, args] of Object.entries(ops)) {
        for (const e of order) {
          const ms = await timed(rts[e], args);
          if (i >= 0) ((samples[op] ??= { docker: [], 'engine-lite': [] })[e]).push(ms);
        }
      }
      const t0 = performance.now();
      await mustRun([process.execPath, '-e', '0']);
      const t1 = performance.now();
      await mustRun([process.execPath, '-e', '0'], { env: envNoCa });
      if (i >= 0) {
        floor.push(t1 - t0);
        floorNoCa.push(performance.now() - t1);
      }
    }

    const rows = Object.entries(samples).map(([op, s]) => {
      const d = percentile(s.docker, 50);
      const e = percentile(s['engine-lite'], 50);
      return {
        operation: op,
        n: s.docker.length,
        'docker p50 ms': d,
        'engine-lite p50 ms': e,
        'docker p90 ms': percentile(s.docker, 90),
        'engine-lite p90 ms': percentile(s['engine-lite'], 90),
        'ratio (p50)': Math.round((e / d) * 100) / 100,
        'ratio (median of pairs)': Math.round(percentile(s['engine-lite'].map((ms, k) => (ms / s.docker[k]!) * 100), 50)) / 100,
      };
    });
    const version = (await mustRun(['docker', 'version', '--format', '{{.Server.Version}}'])).stdout.trim();
    const caSet = process.env.NODE_EXTRA_CA_CERTS !== undefined;
    const floorNote = `node -e 0 alone: p50 ${percentile(floor, 50)} ms${caSet ? `, ${percentile(floorNoCa, 50)} ms without NODE_EXTRA_CA_CERTS` : ''}`;
    printTable(`engine-lite vs docker ${version}, wall time per CLI command (${floorNote})`, rows);
    console.log(JSON.stringify({ bench: 'engine-lite-run', rounds, nodeFloorP50: percentile(floor, 50), nodeFloorNoExtraCaP50: percentile(floorNoCa, 50), results: rows }));
  } finally {
    await docker?.cli(['network', 'rm', net]);
    await el?.cleanup();
    await suite?.stop();
    await dockerd.stop();
  }
}

await main();
