/**
 * Per-call latency of the protocol layer over its unix socket, for an empty handler: what every
 * plugin call costs before any driver work. Calls are sequential, like one dockerd operation, over a
 * keep-alive connection (dockerd's http.Client keeps them) and over a new connection per call.
 *
 *   node dist/bench/protocol-latency.js [calls=5000]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { createLogger } from '../common/log.js';
import { bindNetworkDriver, type NetworkDriverApi } from '../common/protocol/network-api.js';
import { PluginServer } from '../common/protocol/server.js';
import { percentile, printTable } from './stats.js';

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

async function measure(socketPath: string, agent: Agent | false): Promise<number[]> {
  for (let i = 0; i < 200; i++) await post(socketPath, agent); // warm-up
  const samples: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t0 = process.hrtime.bigint();
    await post(socketPath, agent);
    samples.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  return samples;
}

const dir = await mkdtemp(join(tmpdir(), 'tstest-bench-'));
const ok = async () => ({});
const empty = new Proxy({}, { get: () => ok }) as NetworkDriverApi;
// Request logging stays on (as in production) but goes nowhere, so the terminal is not the bottleneck.
const server = await PluginServer.listen({
  socketPath: join(dir, 'bench.sock'),
  interfaces: [bindNetworkDriver(empty)],
  log: createLogger({ stream: new PassThrough().resume() }),
});
try {
  const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
  const rows = [
    ['keep-alive connection', await measure(server.socketPath, keepAlive)],
    ['new connection per call', await measure(server.socketPath, false)],
  ] as const;
  keepAlive.destroy();
  const table = rows.map(([name, s]) => ({ case: name, calls, p50_us: percentile(s, 50), p99_us: percentile(s, 99) }));
  printTable('protocol layer, empty handler (NetworkDriver.Leave), µs per call', table);
  console.log(JSON.stringify({ bench: 'protocol-latency', results: table }));
} finally {
  await server.close();
  await rm(dir, { recursive: true, force: true });
}
