/**
 * Per-call latency of the protocol layer over its unix socket, for an empty handler: what every
 * plugin call costs before any driver work. Calls are sequential, like one dockerd operation, over a
 * keep-alive connection (dockerd's http.Client keeps them) and over a new connection per call; each
 * with metrics off, on (`--metrics-addr`: the call histogram and recent-failures list fed per call),
 * and on with the live topology page connected (every call also asks the server-sent event feed to
 * look for a change: a debounced read in the background), side by side, in alternating rounds so
 * that drift in the machine's load hits all alike.
 *
 *   npm run bench -- protocol-latency [calls=5000]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { createLogger } from '../common/log.js';
import { bindNetworkDriver, type NetworkDriverApi } from '../common/protocol/network-api.js';
import { PluginServer } from '../common/protocol/server.js';
import { Observer } from '../observe/http.js';
import { percentile, printTable } from '../testing/measure/stats.js';

const calls = Number(process.argv[2] ?? 5000);
const body = JSON.stringify({ NetworkID: 'a'.repeat(64), EndpointID: 'b'.repeat(64) }) + '\n';

function post(socketPath: string, agent: Agent | false): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath, agent, method: 'POST', path: '/NetworkDriver.Leave', headers: { 'Content-Length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function measure(socketPath: string, agent: Agent | false, n: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await post(socketPath, agent);
    samples.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  return samples;
}

/** Each socket in turn, in 10 alternating rounds after a warm-up of each. */
async function sideBySide(sockets: readonly string[], agent: Agent | false): Promise<number[][]> {
  for (const s of sockets) await measure(s, agent, 200);
  const res = sockets.map((): number[] => []);
  const per = Math.ceil(calls / 10);
  for (let round = 0; round < 10; round++) {
    for (const [i, s] of sockets.entries()) res[i]!.push(...(await measure(s, agent, per)));
  }
  return res;
}

const dir = await mkdtemp(join(tmpdir(), 'tstest-bench-'));
const ok = async () => ({});
const empty = new Proxy({}, { get: () => ok }) as NetworkDriverApi;
// Request logging stays on (as in production) but goes nowhere, so the terminal is not the bottleneck.
const log = createLogger({ stream: new PassThrough().resume() });
const observer = new Observer({ plugins: [], cluster: Promise.resolve(undefined), log });
const plain = await PluginServer.listen({ socketPath: join(dir, 'off.sock'), interfaces: [bindNetworkDriver(empty)], log });
const observed = await PluginServer.listen({ socketPath: join(dir, 'on.sock'), interfaces: [bindNetworkDriver(empty)], log, observe: observer.onCall });
const liveObserver = new Observer({ plugins: [], cluster: Promise.resolve(undefined), log });
const live = await PluginServer.listen({ socketPath: join(dir, 'live.sock'), interfaces: [bindNetworkDriver(empty)], log, observe: liveObserver.onCall });
const page = await liveObserver.listen({ host: '127.0.0.1', port: 0 });
const pageOpen = new AbortController();
const events = await fetch(`http://${page.address}/api/events`, { signal: pageOpen.signal });
void events.body?.pipeTo(new WritableStream()).catch(() => undefined);
try {
  const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
  const table = [];
  for (const [conn, agent] of [['keep-alive', keepAlive], ['new connection', false]] as const) {
    const samples = await sideBySide([plain.socketPath, observed.socketPath, live.socketPath], agent);
    for (const [i, metrics] of ['off', 'on', 'on + live page'].entries()) {
      const s = samples[i]!;
      table.push({ case: `${conn}, metrics ${metrics}`, calls: s.length, p50_us: percentile(s, 50), p99_us: percentile(s, 99), p50_vs_off: (percentile(s, 50) / percentile(samples[0]!, 50)).toFixed(2) });
    }
  }
  keepAlive.destroy();
  printTable('protocol layer, empty handler (NetworkDriver.Leave), µs per call', table);
  console.log(JSON.stringify({ bench: 'protocol-latency', results: table }));
} finally {
  pageOpen.abort();
  await Promise.all([plain.close(), observed.close(), live.close(), page.close()]);
  await rm(dir, { recursive: true, force: true });
}
