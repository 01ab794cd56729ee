/**
 * @module Benchmark of the managed plugin on a private dockerd (testing/docker/private-dockerd.ts):
 * - build: `npm run plugin` time and rootfs size (no create), then `docker plugin create` time;
 * - enable: from `docker plugin enable` until every interface answers its ready call on the plugin's
 *   socket (and until `enable` returns), over `runs` disable/enable cycles;
 * - reboot: `containers` `--restart=always` containers on a tsnet bridge network with tsnet addresses,
 *   each with a tsnet volume; dockerd stopped, what a reboot takes away removed
 *   (testing/docker/managed-plugin.ts), dockerd started: time from its start until every
 *   container answers a ping from the host.
 * Everything lives in `/tmp/tstest-<hex>-…` and is removed at the end. Hold the dockerd lock:
 * `flock /tmp/tsnet-dockerd.lock npm run bench -- plugin-bench [runs=5] [containers=20]` (root).
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { detachDevices, listLoops } from '../common/kernel/loop.js';
import { isUnder } from '../common/kernel/mount-info.js';
import { unmountUnder } from '../common/kernel/mount.js';
import { DOCKER_INTERFACE, READY_CALL, type PluginKind } from '../common/plugin.js';
import { postRaw } from '../common/protocol/client.js';
import { freeSubnets } from '../testing/kernel/subnets.js';
import { buildPlugin, dockerOf, enablePlugin, pluginSocketDir, takeAwayWhatARebootTakes } from '../testing/docker/managed-plugin.js';
import { startPrivateDockerd } from '../testing/docker/private-dockerd.js';
import { ensurePackages, pollUntil, tryRun } from '../testing/system.js';
import { percentile, printTable } from '../testing/measure/stats.js';

const runs = Number(process.argv[2] ?? 5);
const containers = Number(process.argv[3] ?? 20);
const hex = randomBytes(3).toString('hex');
const work = `/tmp/tstest-${hex}-pluginbench`;
const stateDir = join(work, 'state');
const KINDS = Object.keys(DOCKER_INTERFACE) as PluginKind[];
const IMAGE = 'tstest-busybox:latest';

const ms = (t0: number) => Math.round(performance.now() - t0);

async function answersAll(socket: string): Promise<boolean> {
  for (const k of KINDS) {
    const ok = await postRaw(socket, READY_CALL[k], undefined, 2_000).then(
      (r) => r.status === 200,
      () => false,
    );
    if (!ok) return false;
  }
  return true;
}

// The reboot figure pings every container from the host: a fresh machine has no ping.
await ensurePackages(['iputils-ping']);
const pd = await startPrivateDockerd(IMAGE);
const docker = dockerOf(pd);
try {
  let t0 = performance.now();
  const summary = await buildPlugin({ dir: join(work, 'dir'), create: false });
  const buildMs = ms(t0);
  t0 = performance.now();
  await docker.ok(['plugin', 'create', 'tsnet', join(work, 'dir')]);
  const createMs = ms(t0);
  console.log(`${summary}\nnpm run plugin (no create): ${buildMs} ms; docker plugin create: ${createMs} ms`);

  await enablePlugin(pd, 'tsnet', stateDir);
  const socket = join(await pluginSocketDir(pd, 'tsnet'), 'tsnet.sock');
  const serving: number[] = [];
  const returned: number[] = [];
  for (let i = 0; i < runs; i++) {
    await docker.ok(['plugin', 'disable', '-f', 'tsnet']);
    t0 = performance.now();
    const enabled = docker.ok(['plugin', 'enable', 'tsnet']).then(() => returned.push(ms(t0)));
    await pollUntil(() => answersAll(socket), { timeoutMs: 30_000, intervalMs: 2 });
    serving.push(ms(t0));
    await enabled;
  }
  printTable(`docker plugin enable → serving (${runs} runs, ms)`, [
    { what: 'every interface answers its ready call', p50: percentile(serving, 50), max: Math.max(...serving) },
    { what: '`docker plugin enable` returned', p50: percentile(returned, 50), max: Math.max(...returned) },
  ]);

  const [subnet] = (await freeSubnets(1, { family: 4, prefixLen: 24 })) as [string];
  const ip = (n: number) => subnet.replace(/\.0\/24$/, `.${n}`);
  await docker.ok(['network', 'create', '-d', 'tsnet:latest', '--ipam-driver', 'tsnet:latest', '--subnet', subnet, `tstest-pb-${hex}`]);
  for (let i = 0; i < containers; i++) {
    const v = `tstest-pbv${i}-${hex}`;
    await docker.ok(['volume', 'create', '-d', 'tsnet', v]);
    await docker.ok(['run', '-d', '--restart=always', '--network', `tstest-pb-${hex}`, '--ip', ip(10 + i), '-v', `${v}:/data`, '--name', `tstest-pb${i}-${hex}`, IMAGE, 'sleep', '1000000']);
  }
  const pending = new Set(Array.from({ length: containers }, (_, i) => ip(10 + i)));
  let dockerdStart = 0;
  await pd.restart(async () => {
    await takeAwayWhatARebootTakes(pd, stateDir);
    dockerdStart = performance.now();
  });
  const up = await pollUntil(
    async () => {
      const answered = await Promise.all([...pending].map(async (a) => ((await tryRun(['ping', '-c', '1', '-W', '1', a])).code === 0 ? a : undefined)));
      for (const a of answered) if (a) pending.delete(a);
      return pending.size === 0;
    },
    { timeoutMs: 180_000, intervalMs: 100 },
  );
  printTable('simulated reboot, dockerd first start → every container answers ping', [
    { containers, answered: containers - pending.size, ms: up ? ms(dockerdStart) : 'timeout (180 s)' },
  ]);
} finally {
  const ids = (await docker.cli(['ps', '-aq'])).stdout.split('\n').filter(Boolean);
  if (ids.length > 0) await docker.cli(['rm', '-f', ...ids]);
  await docker.cli(['network', 'rm', `tstest-pb-${hex}`]);
  await docker.cli(['plugin', 'disable', '-f', 'tsnet']);
  await docker.cli(['plugin', 'rm', '-f', 'tsnet']);
  await pd.stop();
  await unmountUnder(work, { lazy: true });
  // A loop the plugin attached shows its backing file relative to the plugin's state bind mount
  // (`/volume/volumes/<name>/disk.ext4`, or `.trash-<name>-…/` once removed): found by the volumes'
  // names (`tstest-pbv<i>-<hex>`) too.
  await detachDevices((await listLoops()).filter((l) => isUnder(l.backingFile, work) || (l.backingFile.includes('tstest-pbv') && l.backingFile.includes(hex))));
  await rm(work, { recursive: true, force: true });
}
