/**
 * @module What `tsnet serve` asks dockerd per container event, and how long that takes, as the host's
 * idle containers grow (`docker create`d, never started): C = 0, 50, 200 by default. serve (`--only
 * network,ipam`, names on an address of a bridge the bench makes) reads dockerd through a counting proxy
 * socket, so the figures need nothing from serve and compare any build: one names read (the requests
 * after `docker run` of a container on a tsnet network: its start and connect events) and one agreement
 * pass (the requests after `docker network rm` of a tsnet network: its destroy event). Per event: the
 * requests by kind and the wall time during which at least one of them was in flight. Needs root and the
 * dockerd lock; uses the dockerd that answers (or starts one), cleans up what it made.
 *
 *   flock /tmp/tsnet-dockerd.lock npm run bench -- dockerd-reads [counts=0,50,200] [cli=dist/cli/tsnet.js]
 *
 * `cli` runs another build's `tsnet` (e.g. a copy of main's dist/ inside the repo, so it finds node_modules).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { cliPath, startSuite, type SuiteHandle } from '../testing/docker/plugin-harness.js';
import { freeSubnets } from '../testing/kernel/subnets.js';
import { printTable } from '../testing/measure/stats.js';
import { ensureDockerd, ensureTestImage, mustRun, tryRun } from '../testing/system.js';

const counts = (process.argv[2] ?? '0,50,200').split(',').map(Number);
const cli = process.argv[3] === undefined ? cliPath() : resolve(process.argv[3]);
const DOCKER_SOCKET = '/var/run/docker.sock';
/** Agreement's recheck comes SETTLE_MS + 500 ms after a pass; a measurement waits that out. */
const RECHECK_MS = 11_000;
/** No request for this long: the reads an event caused are over. */
const QUIET_MS = 1_500;
const BATCH = 10;

/** One request: when it was sent, and when the last byte of its answer came (so far). */
interface Seen {
  at: number;
  end: number;
  kind: string;
}

/** The kind of a Docker API request, by method and path (the version prefix dropped). */
function kindOf(method: string, url: string): string {
  const path = url.replace(/^\/v[\d.]+/, '').replace(/\?.*$/, '');
  if (path === '/_ping') return 'ping';
  if (path === '/events') return 'events';
  if (path === '/containers/json') return 'list_containers';
  if (/^\/containers\/[^/]+\/json$/.test(path)) return 'inspect_container';
  if (method === 'POST' && /^\/containers\/[^/]+\/start$/.test(path)) return 'start_container';
  if (path === '/networks') return 'list_networks';
  if (/^\/networks\/[^/]+$/.test(path)) return 'inspect_network';
  if (path === '/volumes') return 'list_volumes';
  return `${method} ${path}`;
}

/** A unix socket in front of dockerd's that notes each request going through, and when its answer came. */
class CountingProxy {
  readonly seen: Seen[] = [];
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  constructor(readonly path: string) {
    this.#server = createServer((client) => {
      const upstream = createConnection(DOCKER_SOCKET);
      this.#sockets.add(client).add(upstream);
      let buffered = '';
      let current: Seen | undefined;
      client.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('latin1');
        const lines = buffered.split('\r\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) {
          const m = /^(GET|POST|PUT|DELETE|HEAD) (\S+) HTTP\/1\.[01]$/.exec(line);
          if (!m) continue;
          current = { at: performance.now(), end: performance.now(), kind: kindOf(m[1]!, m[2]!) };
          this.seen.push(current);
        }
        upstream.write(chunk);
      });
      upstream.on('data', (chunk: Buffer) => {
        if (current) current.end = performance.now();
        client.write(chunk);
      });
      const close = () => (client.destroy(), upstream.destroy(), this.#sockets.delete(client), this.#sockets.delete(upstream));
      for (const s of [client, upstream]) s.on('close', close).on('error', close);
    });
  }

  listen(): Promise<void> {
    return new Promise((done) => this.#server.listen(this.path, done));
  }

  close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    return new Promise((done) => this.#server.close(() => done()));
  }
}

/** How long at least one of `requests` was in flight (the union of their intervals). */
function busyMs(requests: readonly Seen[]): number {
  let total = 0;
  let upTo = -Infinity;
  for (const r of [...requests].sort((a, b) => a.at - b.at)) {
    if (r.end > upTo) total += r.end - Math.max(r.at, upTo);
    upTo = Math.max(upTo, r.end);
  }
  return total;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  await ensureDockerd();
  const image = await ensureTestImage();
  const hex = randomBytes(3).toString('hex');
  const dir = `/tmp/tstest-${hex}`;
  const link = `tstestbr${hex}`;
  const prefix = `tstest-dreads-${hex}`;
  const [subnet, other, dnsSubnet] = await freeSubnets(3, { family: 4, prefixLen: 24 });
  const dnsAddr = dnsSubnet!.replace(/\.0\/24$/, '.53');
  const idle: string[] = [];
  const started: string[] = [];
  const networks: string[] = [];
  let suite: SuiteHandle | undefined;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const proxy = new CountingProxy(join(dir, 'docker.sock'));
  await proxy.listen();
  const docker = (args: string[]) => mustRun(['docker', ...args], { timeoutMs: 120_000 });
  let lastPass = performance.now();
  try {
    await mustRun(['ip', 'link', 'add', link, 'type', 'bridge']);
    await mustRun(['ip', 'addr', 'add', `${dnsAddr}/32`, 'dev', link]);
    await mustRun(['ip', 'link', 'set', link, 'up']);
    suite = await startSuite({ command: [process.execPath, cli], only: ['network', 'ipam'], sync: { dockerHost: `unix://${proxy.path}` }, dnsAddr });
    const { network: driver, ipam } = suite.driverNames;
    const net = `${prefix}-net`;
    await docker(['network', 'create', '-d', driver, '--ipam-driver', ipam, '--subnet', subnet!, net]);
    networks.push(net);
    console.log(`build: ${cli}; host networks: ${(await docker(['network', 'ls', '-q'])).stdout.trim().split('\n').length}`);

    /** Waits out agreement's recheck and any reads in flight; returns the index of the next request. */
    const quiet = async () => {
      await sleep(Math.max(0, lastPass + RECHECK_MS - performance.now()));
      for (;;) {
        const n = proxy.seen.length;
        await sleep(QUIET_MS);
        if (proxy.seen.length === n) return n;
      }
    };
    /** What `act` made serve ask: requests by kind, and for how long at least one of them was in flight. */
    const measure = async (act: () => Promise<unknown>) => {
      const from = await quiet();
      await act();
      const to = await quiet();
      const got = proxy.seen.slice(from, to).filter((s) => s.kind !== 'events');
      const byKind: Record<string, number> = {};
      for (const s of got) byKind[s.kind] = (byKind[s.kind] ?? 0) + 1;
      for (const s of got) if (s.kind === 'list_networks') lastPass = s.at;
      return { byKind, ms: busyMs(got) };
    };

    const rows: Array<Record<string, string | number>> = [];
    const results: Array<{ idle: number; event: string; requests: Record<string, number>; ms: number }> = [];
    for (const c of counts) {
      while (idle.length < c) {
        const batch = Array.from({ length: Math.min(BATCH, c - idle.length) }, (_, i) => `${prefix}-idle${idle.length + i}`);
        await Promise.all(batch.map((name) => docker(['create', '--name', name, image, 'true'])));
        idle.push(...batch);
      }
      const runName = `${prefix}-run${c}`;
      started.push(runName);
      const names = await measure(() => docker(['run', '-d', '--name', runName, '--network', net, image, 'sleep', '600']));
      const tmpNet = `${prefix}-tmp${c}`;
      await docker(['network', 'create', '-d', driver, '--ipam-driver', ipam, '--subnet', other!, tmpNet]);
      networks.push(tmpNet);
      const pass = await measure(() => docker(['network', 'rm', tmpNet]));
      networks.pop();
      for (const [event, m] of [['container start (names read)', names], ['network rm (agreement pass)', pass]] as const) {
        const total = Object.values(m.byKind).reduce((a, b) => a + b, 0);
        rows.push({ idle: c, event, requests: total, inspect_container: m.byKind.inspect_container ?? 0, inspect_network: m.byKind.inspect_network ?? 0, list_containers: m.byKind.list_containers ?? 0, ms: m.ms.toFixed(1) });
        results.push({ idle: c, event, requests: m.byKind, ms: Number(m.ms.toFixed(1)) });
      }
    }
    printTable('dockerd requests per event, and ms with one of them in flight', rows);
    console.log(JSON.stringify({ bench: 'dockerd-reads', cli, results }));
  } finally {
    const all = [...started, ...idle];
    for (let i = 0; i < all.length; i += BATCH) await Promise.all(all.slice(i, i + BATCH).map((name) => tryRun(['docker', 'rm', '-f', name], { timeoutMs: 60_000 })));
    for (const n of networks) await tryRun(['docker', 'network', 'rm', n]);
    await suite?.stop();
    await proxy.close();
    await tryRun(['ip', 'link', 'del', link]);
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
