/**
 * @module Measurements for the bridge benchmark, each usable for any Docker network driver: timing a
 * docker CLI command, TCP throughput and ICMP round trips between two containers (iperf3 and busybox
 * ping run inside their network namespaces with nsenter), and a plugin call's latency.
 */
import { callPlugin } from '../../common/protocol/client.js';
import { start } from '../../common/kernel/exec.js';
import { dockerOk } from '../docker/plugin-harness.js';
import { tryRun } from '../system.js';
import { percentile } from './stats.js';

/** Milliseconds `fn` took. */
export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** Milliseconds one `docker ARGS…` took; rejects with docker's message when it fails. */
export function timeDocker(args: readonly string[]): Promise<number> {
  return timed(() => dockerOk(args));
}

/** Median of samples (ms or Gbit/s), rounded to 0.1. */
export const median = (s: readonly number[]) => percentile(s, 50);

/** `a / b`, rounded to 3 decimals. */
export const ratio = (a: number, b: number) => Math.round((a / b) * 1000) / 1000;

/** Samples of `measure(item)` for each item (driver, network), interleaved, alternating which goes first. */
export async function interleaved<T extends { label: string }>(items: readonly T[], rounds: number, measure: (item: T, i: number) => Promise<number>): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = Object.fromEntries(items.map((x) => [x.label, []]));
  for (let i = 0; i < rounds; i++) {
    for (const x of i % 2 === 0 ? items : [...items].reverse()) out[x.label]!.push(await measure(x, i));
  }
  return out;
}

/** PID of a running container's first process, for nsenter. */
export async function containerPid(name: string): Promise<number> {
  return Number((await dockerOk(['inspect', '-f', '{{.State.Pid}}', name])).stdout.trim());
}

const inNetns = (pid: number, argv: string[]) => ['nsenter', '-t', String(pid), '-n', ...argv];

/**
 * TCP throughput in Gbit/s from the namespace of `clientPid` to `serverIp` in the namespace of
 * `serverPid`: a one-off iperf3 server there, one client run of `seconds`.
 */
export async function throughputGbps(serverPid: number, serverIp: string, clientPid: number, seconds: number): Promise<number> {
  const [cmd, ...args] = inNetns(serverPid, ['iperf3', '--server', '--one-off']);
  const server = start([cmd!, ...args], { stdout: 'ignore', stderr: 'ignore' });
  try {
    let last = '';
    // The server needs a moment to listen; a refused client is retried.
    for (let attempt = 0; attempt < 20; attempt++) {
      const r = await tryRun(inNetns(clientPid, ['iperf3', '--client', serverIp, '--time', String(seconds), '--json']), { timeoutMs: (seconds + 30) * 1000 });
      const report = JSON.parse(r.stdout || '{}') as { end?: { sum_received?: { bits_per_second?: number } }; error?: string };
      const bps = report.end?.sum_received?.bits_per_second;
      if (bps !== undefined) return Math.round(bps / 1e7) / 100;
      last = report.error ?? r.stderr;
      await new Promise((res) => setTimeout(res, 150));
    }
    throw new Error(`iperf3 to ${serverIp} failed: ${last}`);
  } finally {
    server.kill();
  }
}

/** Median ICMP round trip in ms over `count` pings from the namespace of `pid` to `ip` (busybox ping, 5 ms apart). */
export async function pingMedianMs(pid: number, ip: string, count: number): Promise<number> {
  const r = await tryRun(inNetns(pid, ['busybox', ip.includes(':') ? 'ping6' : 'ping', '-c', String(count), '-i', '0.005', ip]), { timeoutMs: count * 100 + 10_000 });
  const times = [...r.stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
  if (times.length < count / 2) throw new Error(`ping ${ip} got ${times.length} of ${count} answers: ${r.stderr}`);
  const sorted = times.sort((a, b) => a - b);
  return Math.round(sorted[Math.floor(sorted.length / 2)]! * 1000) / 1000;
}

/** Milliseconds one plugin call took (over its unix socket, as dockerd makes it). */
export function timePluginCall(socket: string, call: string, body: object): Promise<number> {
  return timed(() => callPlugin(socket, call, body));
}

/** Runs `docker ARGS…` and ignores failure (cleanup). */
export async function dockerQuiet(args: readonly string[]): Promise<void> {
  await tryRun(['docker', ...args], { timeoutMs: 120_000 });
}
