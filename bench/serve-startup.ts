/**
 * @module Benchmark: how soon `tsnet serve` listens, and how soon it serves real calls, after its
 * process starts, with a state directory holding bridge networks (each with a tsipam pool and an
 * endpoint) and volumes to reconcile. dockerd gives a managed plugin 500 ms before its first dial,
 * so "listen" is the figure that matters for it; "ready" is when every plugin answers a real call.
 * Runs in a throwaway `tstest-…` network namespace (nsenter), state in `/tmp/tstest-<hex>/`.
 *
 * Usage (root): `npm run bench -- serve-startup [runs=10] [networks=20] [volumes=20]`
 * Times are from just before `spawn` in this process, so they include Node's own start-up.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { start as startProcess, type Child } from '../common/kernel/exec.js';
import { deleteNetns, ensureNetns, netnsPath } from '../common/kernel/netns.js';
import { READY_CALL, SOCKET_NAMES, type PluginKind } from '../common/plugin.js';
import { callPlugin, postRaw } from '../common/protocol/client.js';
import { cliPath } from '../testing/docker/plugin-harness.js';
import { freeSubnets } from '../testing/kernel/subnets.js';
import { percentile, printTable } from '../testing/measure/stats.js';

const runs = Number(process.argv[2] ?? 10);
const networks = Number(process.argv[3] ?? 20);
const volumes = Number(process.argv[4] ?? 20);

const KINDS: PluginKind[] = ['network', 'ipam', 'volume'];

const hex = randomBytes(4).toString('hex');
const dir = `/tmp/tstest-${hex}`;
const netns = `tstest-${hex}`;
const pluginsDir = join(dir, 'plugins');
const stateDir = join(dir, 'state');
const sockets = Object.fromEntries(KINDS.map((k) => [k, join(pluginsDir, SOCKET_NAMES[k])])) as Record<PluginKind, string>;
const cli = cliPath();

async function answers(socket: string, call: string): Promise<boolean> {
  try {
    return (await postRaw(socket, call, undefined, 5_000)).status === 200;
  } catch {
    return false;
  }
}

/** Milliseconds from `t0` until `call` answers 200 on every socket (polled every 2 ms). */
async function timeUntil(t0: number, child: Child, callOf: (k: PluginKind) => string): Promise<number> {
  for (const k of KINDS) {
    while (!(await answers(sockets[k], callOf(k)))) {
      if (child.exited) throw new Error(`tsnet serve exited with ${(await child.done).code}`);
      await new Promise((r) => setTimeout(r, 2));
    }
  }
  return performance.now() - t0;
}

function start(): { child: Child; t0: number } {
  const t0 = performance.now();
  // nsenter execs node itself (`ip netns exec` forks), so the signals below reach tsnet serve.
  const child = startProcess(['nsenter', `--net=${netnsPath(netns)}`, process.execPath, cli, 'serve', '--plugins-dir', pluginsDir, '--state-dir', stateDir, '--docker-host', 'none'], {
    stdout: 'ignore',
    stderr: 'inherit',
    env: { ...process.env, TSNET_LOG_LEVEL: 'warn' },
  });
  return { child, t0 };
}

async function stop(child: Child): Promise<void> {
  child.kill('SIGTERM');
  await child.done;
}

/** Networks with a pool, a gateway and one endpoint each, and local volumes, made through the sockets. */
async function populate(): Promise<void> {
  const { child, t0 } = start();
  try {
    await timeUntil(t0, child, (k) => READY_CALL[k]);
    await fill();
  } finally {
    await stop(child);
  }
}

async function fill(): Promise<void> {
  const subnets = await freeSubnets(networks, { family: 4, prefixLen: 24 });
  for (const subnet of subnets) {
    const { PoolID } = await callPlugin<{ PoolID: string }>(sockets.ipam, 'IpamDriver.RequestPool', { AddressSpace: 'LocalDefault', Pool: subnet, SubPool: '', Options: {}, V6: false });
    const gw = await callPlugin<{ Address: string }>(sockets.ipam, 'IpamDriver.RequestAddress', { PoolID, Address: '', Options: { RequestAddressType: 'com.docker.network.gateway' } });
    const ep = await callPlugin<{ Address: string }>(sockets.ipam, 'IpamDriver.RequestAddress', { PoolID, Address: '', Options: {} });
    const NetworkID = randomBytes(32).toString('hex');
    await callPlugin(sockets.network, 'NetworkDriver.CreateNetwork', {
      NetworkID,
      Options: { 'com.docker.network.generic': { mode: 'bridge' } },
      IPv4Data: [{ AddressSpace: 'LocalDefault', Pool: subnet, Gateway: gw.Address }],
      IPv6Data: [],
    });
    await callPlugin(sockets.network, 'NetworkDriver.CreateEndpoint', { NetworkID, EndpointID: randomBytes(32).toString('hex'), Interface: { Address: ep.Address, AddressIPv6: '', MacAddress: '' }, Options: {} });
  }
  for (let i = 0; i < volumes; i++) await callPlugin(sockets.volume, 'VolumeDriver.Create', { Name: `bench${i}`, Opts: { type: i % 2 === 0 ? 'local' : 'tmpfs' } });
}

await mkdir(pluginsDir, { recursive: true, mode: 0o700 });
await ensureNetns(netns);
const listen: number[] = [];
const ready: number[] = [];
try {
  await populate();
  for (let i = 0; i < runs; i++) {
    const { child, t0 } = start();
    try {
      listen.push(await timeUntil(t0, child, () => 'Plugin.Activate'));
      ready.push(await timeUntil(t0, child, (k) => READY_CALL[k]));
    } finally {
      await stop(child);
    }
  }
} finally {
  await deleteNetns(netns);
  await rm(dir, { recursive: true, force: true });
}
const row = (what: string, s: number[]) => ({ what, p50: percentile(s, 50), p90: percentile(s, 90), max: percentile(s, 100) });
printTable(`tsnet serve start-up, ms from spawn (${runs} runs, ${networks} bridge networks + endpoints, ${volumes} volumes)`, [
  row('all sockets answer Plugin.Activate', listen),
  row('every plugin answers a real call', ready),
]);
console.log(JSON.stringify({ bench: 'serve-startup', runs, networks, volumes, listenMs: listen, readyMs: ready }));
