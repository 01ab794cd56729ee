/**
 * @module Benchmark: `tsnet doctor` with many networks and endpoints, no dockerd. A `tsnet serve --only
 * network` runs in a throwaway `tstest-…` namespace (nsenter) with `networks` bridge networks and
 * `endpoints` joined endpoints (a veth pair each, spread evenly), made through the plugin socket as
 * dockerd would. Side by side in alternating rounds: the plugin's own `TsnetNetwork.Check` call (what
 * the start-up drift count adds to a start too), the whole `tsnet doctor` command (a Node start plus
 * the call), and a bare Node start of the CLI (`tsnet --version`) to separate the two; then `tsnet
 * doctor --fix` after 10 bridges were deleted by hand (it finds them, rebuilds them with their ports
 * re-attached, and checks again). (A deleted veth is not fixable here: the sandboxes are made up.)
 *
 * Usage (root): `npm run bench -- doctor-bench [runs=5] [networks=100] [endpoints=500]`
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { formatIp, parseCidr } from '../common/addr/parse.js';
import { CommandError, run, start, type Child } from '../common/kernel/exec.js';
import { deleteNetns, ensureNetns, netnsPath } from '../common/kernel/netns.js';
import { SOCKET_NAMES } from '../common/plugin.js';
import { callPlugin, postRaw } from '../common/protocol/client.js';
import { freeSubnets } from '../testing/kernel/subnets.js';
import { BRIDGE_PREFIX } from '../network-driver/modes/bridge-core/options.js';
import { nameFromId } from '../network-driver/modes/shared/names.js';
import { percentile, printTable } from '../testing/measure/stats.js';

const runs = Number(process.argv[2] ?? 5);
const networks = Number(process.argv[3] ?? 100);
const endpoints = Number(process.argv[4] ?? 500);

const hex = randomBytes(4).toString('hex');
const dir = `/tmp/tstest-${hex}`;
const netns = `tstest-${hex}`;
const pluginsDir = join(dir, 'plugins');
const socket = join(pluginsDir, SOCKET_NAMES.network);
const cli = join(import.meta.dirname, '../cli/tsnet.js');

const since = (t0: number) => performance.now() - t0;

function startServe(): Child {
  // The namespace's own /sys (bridge ports are set there), in a private mount namespace; nsenter,
  // unshare and sh each exec the next, so SIGTERM reaches tsnet serve.
  const sysfs = 'mount -t sysfs sysfs /sys && exec "$0" "$@"';
  return start(['nsenter', `--net=${netnsPath(netns)}`, 'unshare', '--mount', '--propagation', 'private', 'sh', '-c', sysfs, process.execPath, cli, 'serve', '--only', 'network', '--plugins-dir', pluginsDir, '--state-dir', join(dir, 'state'), '--docker-host', 'none'], {
    stdout: 'ignore',
    stderr: 'inherit',
    env: { ...process.env, TSNET_LOG_LEVEL: 'warn' },
  });
}

async function ready(child: Child): Promise<void> {
  for (;;) {
    if (child.exited) throw new Error(`tsnet serve exited with ${(await child.done).code}`);
    const ok = await postRaw(socket, 'NetworkDriver.GetCapabilities', undefined, 5_000).then((r) => r.status === 200, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** `networks` bridge networks and `endpoints` joined endpoints spread over them; returns the bridges' names. */
async function populate(): Promise<string[]> {
  const subnets = await freeSubnets(networks, { family: 4, prefixLen: 24 });
  const bridges: string[] = [];
  for (const [n, subnet] of subnets.entries()) {
    const base = parseCidr(subnet)!.addr;
    const NetworkID = randomBytes(32).toString('hex');
    await callPlugin(socket, 'NetworkDriver.CreateNetwork', {
      NetworkID,
      Options: { 'com.docker.network.generic': {} },
      IPv4Data: [{ AddressSpace: 'LocalDefault', Pool: subnet, Gateway: `${formatIp(4, base + 1n)}/24` }],
      IPv6Data: [],
    });
    bridges.push(nameFromId(BRIDGE_PREFIX, NetworkID));
    const here = Math.floor(endpoints / networks) + (n < endpoints % networks ? 1 : 0);
    for (let i = 0; i < here; i++) {
      const EndpointID = randomBytes(32).toString('hex');
      await callPlugin(socket, 'NetworkDriver.CreateEndpoint', { NetworkID, EndpointID, Interface: { Address: `${formatIp(4, base + BigInt(i + 2))}/24`, AddressIPv6: '', MacAddress: '' }, Options: {} });
      await callPlugin(socket, 'NetworkDriver.Join', { NetworkID, EndpointID, SandboxKey: `/var/run/docker/netns/${randomBytes(6).toString('hex')}`, Options: {} });
    }
  }
  return bridges;
}

/** Runs `tsnet …args`; returns its exit code (doctor exits 1 on drift) and stdout. */
async function tsnet(args: string[]): Promise<{ code: number; stdout: string }> {
  try {
    return { code: 0, stdout: (await run([process.execPath, cli, ...args], { object: 'tsnet', step: args[0] ?? '' })).stdout };
  } catch (err) {
    if (err instanceof CommandError) return { code: err.exitCode ?? -1, stdout: '' };
    throw err;
  }
}

const doctorArgs = ['doctor', '--plugins-dir', pluginsDir, '--docker-host', 'none'];

await mkdir(pluginsDir, { recursive: true, mode: 0o700 });
await ensureNetns(netns);
const child = startServe();
const samples = { check: [] as number[], doctor: [] as number[], node: [] as number[], fix: [] as number[] };
let populateMs = 0;
try {
  await ready(child);
  const t0 = performance.now();
  const bridges = await populate();
  populateMs = since(t0);
  const clean = await tsnet(doctorArgs);
  if (clean.code !== 0) throw new Error(`doctor is not clean after populating:\n${clean.stdout}`);
  for (let r = 0; r < runs; r++) {
    let t = performance.now();
    const { Findings } = await callPlugin<{ Findings: unknown[] }>(socket, 'TsnetNetwork.Check', {});
    samples.check.push(since(t));
    if (Findings.length !== 0) throw new Error(`Check found ${Findings.length} finding(s) on a clean host`);
    t = performance.now();
    await tsnet(doctorArgs);
    samples.doctor.push(since(t));
    t = performance.now();
    await tsnet(['--version']);
    samples.node.push(since(t));
  }
  for (let r = 0; r < runs; r++) {
    for (const b of bridges.slice(r * 10, r * 10 + 10)) await run(['ip', '-n', netns, 'link', 'del', b], { object: `bridge ${b}`, step: 'delete' });
    const broken = await tsnet(doctorArgs);
    if (broken.code !== 1) throw new Error(`doctor did not report the deleted bridges (exit ${broken.code})`);
    const t = performance.now();
    const fixed = await tsnet([...doctorArgs, '--fix']);
    samples.fix.push(since(t));
    if (fixed.code !== 0) throw new Error(`doctor --fix did not end clean (exit ${fixed.code}):\n${fixed.stdout}`);
  }
} finally {
  await child.terminate(30_000);
  await deleteNetns(netns);
  await rm(dir, { recursive: true, force: true });
}
const row = (what: string, s: number[]) => ({ what, p50_ms: percentile(s, 50), p90_ms: percentile(s, 90), max_ms: percentile(s, 100) });
const nodeP50 = percentile(samples.node, 50);
printTable(`tsnet doctor, ${networks} bridge networks, ${endpoints} joined endpoints, ${runs} runs (populating took ${Math.round(populateMs)} ms)`, [
  row('TsnetNetwork.Check call (plugin side)', samples.check),
  row('tsnet doctor (CLI, clean)', samples.doctor),
  row('node start of the CLI (tsnet --version)', samples.node),
  row('tsnet doctor --fix (10 bridges deleted)', samples.fix),
]);
console.log(`doctor minus a bare CLI start: ${Math.round(percentile(samples.doctor, 50) - nodeP50)} ms; --fix / clean doctor: ${(percentile(samples.fix, 50) / percentile(samples.doctor, 50)).toFixed(1)}×`);
console.log(JSON.stringify({ bench: 'doctor', runs, networks, endpoints, populateMs: Math.round(populateMs), ...samples }));
