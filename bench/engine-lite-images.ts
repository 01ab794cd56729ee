/**
 * @module Layered `image load` against single-rootfs `image import`: two images built with
 * `docker build` FROM the busybox test image (image A: an 8 MB file, 2000 small files, a layer
 * changing and deleting some of them; image B: A plus one small layer), each exported both ways —
 * `docker save` (layers) and `docker export` of a container (one flat rootfs). Each round, in fresh
 * state directories, times `engine-lite image load` of A then B against `image import` of A then B,
 * measures the disk the store uses after both (du), and times `run --rm IMAGE true` on each kind
 * (alternating, four pairs per round).
 * Loads and imports also report the bytes they wrote to storage (`write_bytes` of /proc/PID/io of
 * a shell around the command, which counts the children it reaped: Node and its tar).
 * Prints a table (medians) and one JSON line. Needs root and dockerd (started if none answers, then
 * stopped again); run it under /tmp/tsnet-dockerd.lock. Build first.
 *
 *   flock /tmp/tsnet-dockerd.lock npm run bench -- engine-lite-images [rounds=5]
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { engineLiteCliPath } from '../testing/docker/engine-lite-runtime.js';
import { ensureDockerd, ensureTestImage, mustRun, tryRun } from '../testing/system.js';
import { percentile, printTable } from '../testing/measure/stats.js';

const rounds = Number(process.argv[2] ?? 5);
/** `run --rm` pairs (loaded, imported image) timed per round. */
const RUNS_PER_ROUND = 4;

/** Bytes on disk below `dir` (du). */
const du = async (dir: string) => Number((await mustRun(['du', '-sb', dir])).stdout.split('\t')[0]);

/** Wall time of one engine-lite command with state in `stateDir`, in ms; throws if it fails. */
async function el(stateDir: string, args: string[]): Promise<number> {
  const t0 = performance.now();
  await mustRun([process.execPath, engineLiteCliPath(), '--state-dir', stateDir, ...args]);
  return performance.now() - t0;
}

/** Wall time (ms) and bytes written to storage of one engine-lite command; throws if it fails. */
async function elIo(stateDir: string, args: string[]): Promise<{ ms: number; written: number }> {
  const t0 = performance.now();
  const { stdout } = await mustRun(['sh', '-c', '"$@" >/dev/null && grep ^write_bytes /proc/$$/io', 'sh', process.execPath, engineLiteCliPath(), '--state-dir', stateDir, ...args]);
  return { ms: performance.now() - t0, written: Number(/write_bytes:\s*(\d+)/.exec(stdout)?.[1]) };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log('image bench skipped: needs root');
    return;
  }
  const dockerd = await ensureDockerd();
  const work = await mkdtemp('/tmp/tstest-');
  const tag = randomBytes(3).toString('hex');
  const [A, B] = [`tstest-bench-a-${tag}:1`, `tstest-bench-b-${tag}:1`];
  try {
    const base = await ensureTestImage();
    const build = async (name: string, lines: string[]) => {
      const ctx = join(work, name.replace(/[:/]/g, '_'));
      await mkdir(ctx);
      await writeFile(join(ctx, 'Dockerfile'), lines.join('\n'));
      await mustRun(['docker', 'build', '-q', '--network', 'none', '-t', name, ctx], { env: { ...process.env, DOCKER_BUILDKIT: '0' } });
    };
    await build(A, [
      `FROM ${base}`,
      'RUN dd if=/dev/urandom of=/blob bs=1M count=8 2>/dev/null',
      'RUN mkdir /many && for i in $(seq 1 2000); do echo "file $i" > /many/f$i; done',
      'RUN rm /many/f1* && echo changed > /many/f2 && rm -rf /many/sub && mkdir /many/sub',
      'CMD ["sh"]',
    ]);
    await build(B, [`FROM ${A}`, 'RUN echo b > /b']);
    const files: Record<string, { save: string; export: string }> = {};
    for (const [key, image] of [['A', A], ['B', B]] as const) {
      const save = join(work, `${key}.save.tar`);
      const exp = join(work, `${key}.export.tar`);
      await mustRun(['docker', 'save', '-o', save, image]);
      const id = (await mustRun(['docker', 'create', '--network', 'none', image])).stdout.trim();
      await mustRun(['docker', 'export', '-o', exp, id]);
      await mustRun(['docker', 'rm', id]);
      files[key] = { save, export: exp };
    }
    const samples: Record<string, number[]> = {};
    const add = (k: string, v: number) => (samples[k] ??= []).push(v);
    for (let i = 0; i < rounds; i++) {
      const loadDir = join(work, `load-${i}`);
      const importDir = join(work, `import-${i}`);
      for (const [label, dir, args] of [
        ['load A (empty store)', loadDir, ['image', 'load', '-i', files.A!.save]],
        ['load B (A in store)', loadDir, ['image', 'load', '-i', files.B!.save]],
        ['import A', importDir, ['image', 'import', files.A!.export, 'a']],
        ['import B', importDir, ['image', 'import', files.B!.export, 'b']],
      ] as const) {
        const r = await elIo(dir, [...args]);
        add(`${label} ms`, r.ms);
        add(`${label} written (bytes)`, r.written);
      }
      add('disk after A+B, loaded (bytes)', await du(join(loadDir, 'layers')));
      add('disk after A+B, imported (bytes)', await du(join(importDir, 'images')));
      // Alternating, several times: a single run right after the loads and imports paid for their writeback.
      for (let j = 0; j < RUNS_PER_ROUND; j++) {
        const runs = [
          ['run --rm B true, loaded ms', () => el(loadDir, ['run', '--rm', B, 'true'])],
          ['run --rm b true, imported ms', () => el(importDir, ['run', '--rm', 'b', 'true'])],
        ] as const;
        for (const [label, time] of j % 2 === 0 ? runs : [...runs].reverse()) add(label, await time());
      }
      await rm(loadDir, { recursive: true, force: true });
      await rm(importDir, { recursive: true, force: true });
    }
    const sizes = { saveA: (await stat(files.A!.save)).size, saveB: (await stat(files.B!.save)).size, exportA: (await stat(files.A!.export)).size, exportB: (await stat(files.B!.export)).size };
    const rows = Object.entries(samples).map(([measure, s]) => ({ measure, n: s.length, p50: percentile(s, 50), min: percentile(s, 0), max: percentile(s, 100) }));
    printTable(`engine-lite image load vs import (archives: save A ${sizes.saveA} B ${sizes.saveB}, export A ${sizes.exportA} B ${sizes.exportB} bytes)`, rows);
    console.log(JSON.stringify({ bench: 'engine-lite-images', rounds, archives: sizes, results: rows }));
  } finally {
    for (const image of [B, A]) await tryRun(['docker', 'rmi', '-f', image]);
    await rm(work, { recursive: true, force: true });
    await dockerd.stop();
  }
}

await main();
