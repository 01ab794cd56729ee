/**
 * @module Name service benchmark, in one run:
 *  answers      latency (p50/p99, one query at a time) and throughput (64 in flight) of an A query for a
 *               same-host container name, asked from inside a container: our responder (a simulated host:
 *               network namespace, `tsnet serve` with engine-lite, an overlay network) side by side with
 *               Docker's embedded DNS (127.0.0.11, the machine's dockerd, a user-defined bridge network);
 *  convergence  from the start of `engine-lite run -d` of a container on host 1 (at an address fixed
 *               with `--ip`) to the first answer with that address a container on host 2 gets for its
 *               name, asking every 5 ms.
 * The load generator is bench/dns-probe.ts, run in the asking container's network namespace. Our
 * responder runs with `--dns-rate` raised so that one asking container is not rate-limited; nothing is
 * forwarded (the names are local). Prints tables, then one JSON line. Needs root and dockerd (hold
 * /tmp/tsnet-dockerd.lock). Removes everything it made, also on failure.
 *
 *   npm run bench -- dns-bench [--queries 2000] [--seconds 5] [--convergence 20]
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatIp, parseCidr } from '../common/addr/parse.js';
import { freeSubnets } from '../testing/kernel/subnets.js';
import { overlaySubnets, startCluster, type Cluster, type SimHost } from '../testing/cluster/multihost.js';
import { ensureDockerd, ensureTestImage, mustRun, tryRun } from '../testing/system.js';
import { DEFAULT_DNS_ADDR } from '../names/defaults.js';
import { percentile, printTable } from '../testing/measure/stats.js';

const { values: opt } = parseArgs({
  options: {
    queries: { type: 'string', default: '2000' },
    seconds: { type: 'string', default: '5' },
    convergence: { type: 'string', default: '20' },
  },
});
const QUERIES = Number(opt.queries);
const SECONDS = Number(opt.seconds);
const STARTS = Number(opt.convergence);
const WINDOW = 64;
const PROBE = fileURLToPath(new URL('./dns-probe.js', import.meta.url));

/** Runs the probe in the network namespace of process `pid`; its JSON line. */
async function probe<T>(pid: string, args: string[]): Promise<T> {
  const r = await mustRun(['nsenter', '-t', pid, '-n', process.execPath, PROBE, ...args], { timeoutMs: 300_000 });
  return JSON.parse(r.stdout.trim()) as T;
}

async function engineOk(host: SimHost, args: string[]): Promise<string> {
  const r = await host.engine(args);
  if (r.code !== 0) throw new Error(`${host.name}: engine-lite ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return r.stdout.trim();
}

/** Latency and throughput of `server` for `name`, asked from process `pid`'s namespace. */
async function measure(label: string, pid: string, server: string, name: string) {
  const lat = await probe<{ ms: number[]; failed: number }>(pid, ['latency', server, name, String(QUERIES)]);
  const thr = await probe<{ perSecond: number }>(pid, ['throughput', server, name, String(SECONDS), String(WINDOW)]);
  return { server: label, queries: QUERIES, failed: lat.failed, p50_ms: percentile(lat.ms, 50), p99_ms: percentile(lat.ms, 99), answers_per_s: Math.round(thr.perSecond) };
}

/** Docker's embedded DNS: two containers on a user-defined bridge network of the machine's dockerd. */
async function dockerCase(): Promise<ReturnType<typeof measure>> {
  const dockerd = await ensureDockerd();
  const id = `tstest-dns-${randomBytes(3).toString('hex')}`;
  const [subnet] = await freeSubnets(1, { family: 4, prefixLen: 24 });
  const image = await ensureTestImage();
  try {
    await mustRun(['docker', 'network', 'create', '--subnet', subnet!, id]);
    for (const c of ['web', 'client']) await mustRun(['docker', 'run', '-d', '--name', `${id}-${c}`, '--network', id, image, 'sleep', '86400']);
    const pid = (await mustRun(['docker', 'inspect', '-f', '{{.State.Pid}}', `${id}-client`])).stdout.trim();
    return await measure("Docker's embedded DNS (127.0.0.11)", pid, '127.0.0.11', `${id}-web`);
  } finally {
    await tryRun(['docker', 'rm', '-f', `${id}-web`, `${id}-client`]);
    await tryRun(['docker', 'network', 'rm', id]);
    await dockerd.stop();
  }
}

/** Our responder, same-host name, and the name's convergence to host 2. */
async function tsnetCase(cluster: Cluster) {
  const [h1, h2] = cluster.hosts as [SimHost, SimHost];
  const [subnet] = await overlaySubnets(cluster, 4, 1);
  for (const h of cluster.hosts) {
    await engineOk(h, ['network', 'create', '-d', 'tsnet', '-o', 'mode=overlay', '-o', 'vni=4545', '--ipam-driver', 'tsipam', '--ipam-opt', 'cluster=true', '--subnet', subnet!, 'ov']);
  }
  await h1.run('web', 'ov');
  await h1.run('client', 'ov');
  await h2.run('far', 'ov');
  const pid = await engineOk(h1, ['inspect', '-f', '{{.State.Pid}}', 'client']);
  const farPid = await engineOk(h2, ['inspect', '-f', '{{.State.Pid}}', 'far']);
  // The name must be known before measuring: wait for it.
  await probe(pid, ['wait', DEFAULT_DNS_ADDR, 'web', await engineOk(h1, ['inspect', '-f', '{{.NetworkSettings.Networks.ov.IPAddress}}', 'web']), '10000']);
  const answers = await measure(`tsnet name service (${DEFAULT_DNS_ADDR})`, pid, DEFAULT_DNS_ADDR, 'web');

  const s = { resolved: [] as number[], run: [] as number[] };
  for (let i = 0; i < STARTS; i++) {
    const ip = formatIp(4, parseCidr(subnet!)!.addr + BigInt(100 + i));
    const name = `conv${i}`;
    const waiter = probe<{ at: number | null }>(farPid, ['wait', DEFAULT_DNS_ADDR, name, ip, '15000']);
    await new Promise((r) => setTimeout(r, 300)); // the waiter is asking before the container starts
    try {
      const t0 = Date.now();
      await engineOk(h1, ['run', '-d', '--name', name, '--network', 'ov', '--ip', ip, cluster.image, 'sleep', '86400']);
      s.run.push(Date.now() - t0);
      const { at } = await waiter;
      if (at === null) throw new Error(`${name} did not resolve on host 2 within 15 s`);
      s.resolved.push(at - t0);
    } finally {
      await h1.engine(['rm', '-f', name]);
    }
  }
  const row = (span: string, x: number[]) => ({ span, starts: STARTS, p50_ms: percentile(x, 50), p99_ms: percentile(x, 99), max_ms: percentile(x, 100) });
  return { answers, convergence: [row('run -d start → name resolves on host 2', s.resolved), row('run -d itself', s.run)], samples: s };
}

async function main(): Promise<void> {
  const links = `/tmp/tstest-${randomBytes(4).toString('hex')}`;
  await mkdir(links, { recursive: true, mode: 0o700 });
  const cluster = await startCluster({
    hosts: 2,
    etcd: true,
    only: ['network', 'ipam'],
    serveArgs: (i) => ['--engine-lite-state', join(links, `h${i}`), '--dns-rate', '10000000', '--dns-upstream', '127.0.0.1:5353'],
  });
  const cleanup = async () => {
    await cluster.stop();
    await rm(links, { recursive: true, force: true });
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void cleanup().finally(() => process.exit(130)));
  try {
    for (const h of cluster.hosts) await symlink(join(h.dir, 'engine'), join(links, h.name));
    const ours = await tsnetCase(cluster);
    const docker = await dockerCase();
    printTable(`answers: A query for a same-host container name from inside a container (latency: one at a time; throughput: ${WINDOW} in flight for ${SECONDS} s)`, [ours.answers, docker]);
    printTable('convergence: a container started on host 1, its name asked every 5 ms from a container on host 2', ours.convergence);
    console.log(JSON.stringify({ bench: 'dns', host: { queries: QUERIES, seconds: SECONDS, convergence: STARTS }, results: { answers: [ours.answers, docker], convergence: ours.convergence, samples: ours.samples } }));
  } finally {
    await cleanup();
  }
}

await main();
