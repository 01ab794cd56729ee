/**
 * @module Simulated hosts for multi-host tests (overlay mode): an {@link Underlay} of network namespaces
 * joined by a bridge, optionally an etcd on it, and per host a `tsnet serve` and an engine-lite running
 * inside the host's namespace, everything under `/tmp/tstest-mh-<id>/` and named `tstest-<id>-…`.
 *
 * The plugin runs under `ip netns exec`, which gives it the host's view of `/sys/class/net` (bridge ports
 * are set through it). engine-lite runs under `nsenter --net` instead: `ip netns exec` also replaces
 * `/sys` with a fresh sysfs, which hides `/sys/fs/cgroup`, and engine-lite then refuses to start a
 * container ("no hierarchy with memory, cpu, pids is mounted"). Either way the host end of a container's
 * veth is made by the plugin in the host namespace, and engine-lite moves the other end from there into
 * the container's own namespace. The plugin's mounts (tsvol volumes) stay in its private `ip netns exec`
 * mount namespace, where engine-lite cannot see them: multi-host tests are about networks.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseCidr } from '../../common/addr/parse.js';
import { keyRange, type WireResponse } from '../../common/cluster/etcd-wire.js';
import { detachDevices, listLoops } from '../../common/kernel/loop.js';
import { isUnder } from '../../common/kernel/mount-info.js';
import { netnsPath } from '../../common/kernel/netns.js';
import { SOCKET_NAMES, type PluginKind } from '../../common/plugin.js';
import { enableTestEtcdAuth, etcdGateway, startTestEtcd, type TestEtcd } from './etcd.js';
import { freeSubnets } from '../kernel/subnets.js';
import { engineLiteCliPath } from '../docker/engine-lite-runtime.js';
import { managedProcess } from '../managed-process.js';
import { cliPath, pluginCall, pluginReady, type PluginCallOptions, type PluginReply, type SuiteHandle } from '../docker/plugin-harness.js';
import { killFixtureProcesses } from '../process-sweep.js';
import { cliMethods, type Runtime } from '../docker/runtime.js';
import { buildBusyboxRootfs, mountsMatching, mustRun, TEST_IMAGE, tryRun, unmountLazy, type TryRunResult } from '../system.js';
import { buildUnderlay, type Underlay } from './underlay.js';

const ALL_KINDS: readonly PluginKind[] = ['network', 'ipam', 'volume'];
/** The etcd user of the plugins with `secureEtcd`. */
const ETCD_USER = 'tstest-tsnet';

/** Driver names a runtime inside a simulated host knows the host's plugins by: their socket names. */
export const HOST_DRIVERS: Runtime['drivers'] = { network: 'tsnet', ipam: 'tsipam', volume: 'tsvol' };

/** Options of {@link startCluster}. */
export interface ClusterOptions {
  /** How many simulated hosts (h1…hN). */
  hosts: number;
  /**
   * Start an etcd in the underlay namespace on its `.254` address, and give every host's plugin
   * `--cluster-store <etcd> --advertise-addr <host's underlay ip>`.
   */
  etcd?: boolean;
  /**
   * With `etcd`: run it over TLS with client certificates and etcd auth (a user that may use
   * `/tsnet/v1/` only), and give every plugin `etcds://`, the CA, the client certificate and key,
   * `--cluster-user` and `--cluster-password-file`. `authTokenTtlS` is etcd's `--auth-token-ttl`.
   */
  secureEtcd?: { authTokenTtlS?: number };
  /** Which hosts get the cluster flags (with `etcd`); default every host. */
  clusterHosts?: (host: number) => boolean;
  /** `--cluster-ttl` for every plugin (only with `etcd`). */
  clusterTtlS?: number;
  /** Plugins each host serves (`--only`); all three when omitted. */
  only?: PluginKind[];
  /** More `tsnet serve` arguments for host `n` (1-based), after the others. */
  serveArgs?: (host: number) => string[];
  /** engine-lite's `--plugin-timeout` in seconds; default 15. */
  pluginTimeoutS?: number;
}

/**
 * A host's `tsnet serve`, running in the host's namespace; `restart`, `kill9` and `logs` behave as a
 * harness suite's (socket paths, `pid`, …), but nothing is registered with the machine's dockerd.
 */
export interface HostPlugin extends Pick<SuiteHandle, 'pluginsDir' | 'stateDir' | 'sockets' | 'served' | 'pid' | 'restart' | 'kill9' | 'logs'> {
  /** Starts it if it does not run; resolves once every served socket answers `Plugin.Activate`. */
  start(): Promise<void>;
  /** SIGTERM (the plugin closes its sockets) and wait for the exit; the folders stay. Idempotent. */
  stop(): Promise<void>;
  /** `POST /<method>` on the socket of `kind`, as dockerd sends it; see {@link pluginCall}. */
  call(kind: PluginKind, method: string, body?: unknown, opts?: PluginCallOptions): Promise<PluginReply>;
}

/** One simulated host. */
export interface SimHost {
  /** 1-based. */
  readonly index: number;
  /** `h1`, `h2`, … */
  readonly name: string;
  readonly netns: string;
  /** Its address on the underlay (`eth0`). */
  readonly ip: string;
  /** Its folder, `/tmp/tstest-mh-<id>/h<n>`. */
  readonly dir: string;
  readonly plugin: HostPlugin;
  /** engine-lite in this host, as a {@link Runtime} for scenarios (drivers `tsnet`, `tsipam`, `tsvol`). */
  readonly runtime: Runtime;
  /** The busybox rootfs as a tarball, for other runtimes of this host (a dockerd). */
  readonly imageTarball: string;
  /** Runs engine-lite with `args` in this host; never rejects on a non-zero exit. */
  engine(args: readonly string[]): Promise<TryRunResult>;
  /** `run -d --name NAME --network NETWORK IMAGE CMD…` (default command `sleep 86400`); resolves with the container ID. */
  run(name: string, network: string, ...cmd: string[]): Promise<string>;
  /** `exec NAME CMD…`; never rejects on a non-zero exit. */
  exec(name: string, ...cmd: string[]): Promise<TryRunResult>;
  /** Runs `argv` (a program of this machine) in the host's network namespace; never rejects on a non-zero exit. */
  sh(argv: readonly string[]): Promise<TryRunResult>;
  /** Registers a teardown step that {@link Cluster.stop} runs before it removes the host's containers and plugin. */
  defer(step: () => Promise<void>): void;
}

/** A set of simulated hosts; see {@link startCluster}. */
export interface Cluster {
  /** Hex id in every name: `/tmp/tstest-mh-<id>`, `tstest-<id>-h1`, … */
  readonly id: string;
  readonly dir: string;
  readonly underlay: Underlay;
  readonly hosts: readonly SimHost[];
  /** The etcd, when asked for. */
  readonly etcd: TestEtcd | undefined;
  /** With `secureEtcd`: the plugins' etcd password (to check that no log shows it). */
  readonly etcdPassword?: string;
  /** Image name of the busybox test image in every host's engine-lite. */
  readonly image: string;
  /**
   * Removes everything: deferred steps, containers, plugins, etcd, any process left in the cluster's
   * namespaces or naming its folder, mounts and loop devices below the folder, the namespaces, the folder.
   * Idempotent; rejects (after doing every step) with the failures of the steps that failed.
   */
  stop(): Promise<void>;
}

/**
 * Builds a cluster of `opts.hosts` simulated hosts and resolves when every plugin answers. On failure
 * everything made so far is removed before it rejects.
 */
export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  for (const p of [cliPath(), engineLiteCliPath()]) if (!existsSync(p)) throw new Error(`${p} does not exist: build first with \`npm run build\``);
  const id = randomBytes(4).toString('hex');
  const dir = `/tmp/tstest-mh-${id}`;
  const hosts: HostState[] = [];
  let underlay: Underlay | undefined;
  let etcd: TestEtcd | undefined;
  let etcdPassword: string | undefined;
  let stopping: Promise<void> | undefined;

  const stop = () =>
    (stopping ??= (async () => {
      const failures: unknown[] = [];
      const step = async (fn: () => Promise<unknown>) => {
        try {
          await fn();
        } catch (err) {
          failures.push(err);
        }
      };
      await Promise.all(hosts.map((h) => step(() => h.teardown())));
      await step(async () => etcd?.stop());
      const netns = underlay ? [underlay.netns, ...underlay.hosts.map((h) => h.netns)] : [];
      await step(() => killFixtureProcesses(dir, netns));
      await step(async () => {
        for (const mp of await mountsMatching((m) => isUnder(m, dir))) await unmountLazy(mp);
        await detachDevices((await listLoops()).filter((l) => isUnder(l.backingFile, dir)));
      });
      await step(async () => underlay?.destroy());
      await step(() => rm(dir, { recursive: true, force: true }));
      if (failures.length > 0) throw new AggregateError(failures, `cluster ${id}: ${failures.length} teardown step(s) failed`);
    })());

  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    underlay = await buildUnderlay(id, opts.hosts);
    const image = await buildImage(dir);
    let etcdFlags: string[] = [];
    if (opts.etcd) {
      const secure = opts.secureEtcd;
      etcd = await startTestEtcd({ netns: underlay.netns, listenIp: underlay.ip, ...(secure && { tls: true }), ...(secure?.authTokenTtlS !== undefined && { authTokenTtl: secure.authTokenTtlS }) });
      etcdFlags = ['--cluster-store', etcd.url];
      if (secure) {
        etcdPassword = `tstest-${randomBytes(12).toString('hex')}`;
        await enableTestEtcdAuth(etcd, { name: ETCD_USER, password: etcdPassword }, randomBytes(12).toString('hex'));
        const passwordFile = join(dir, 'etcd-password');
        await writeFile(passwordFile, `${etcdPassword}\n`, { mode: 0o600 });
        const pki = etcd.pki!;
        etcdFlags.push('--cluster-ca', pki.ca, '--cluster-cert', pki.clientCert, '--cluster-key', pki.clientKey, '--cluster-user', ETCD_USER, '--cluster-password-file', passwordFile);
      }
    }
    for (const [i, u] of underlay.hosts.entries()) hosts.push(makeHost(i + 1, u, join(dir, `h${i + 1}`), image, etcdFlags, opts));
    // Sequentially: the first plugin to reach an empty etcd may set up shared state.
    for (const h of hosts) {
      await mkdir(h.host.dir, { recursive: true, mode: 0o700 });
      await h.host.plugin.start();
      await h.host.runtime.ok(['image', 'import', '--change', 'CMD ["sh"]', image.rootfs, TEST_IMAGE]);
    }
  } catch (err) {
    await stop().catch((stopErr: unknown) => console.error(stopErr));
    throw err;
  }
  return { id, dir, underlay, hosts: hosts.map((h) => h.host), etcd, ...(etcdPassword !== undefined && { etcdPassword }), image: TEST_IMAGE, stop };
}

/** The busybox image of a cluster: a rootfs folder (engine-lite uses it in place) and a tarball of it. */
interface ClusterImage {
  rootfs: string;
  tarball: string;
}

async function buildImage(dir: string): Promise<ClusterImage> {
  const rootfs = join(dir, 'image/rootfs');
  const tarball = join(dir, 'image/rootfs.tar');
  await buildBusyboxRootfs(rootfs);
  await mustRun(['tar', '--numeric-owner', '-C', rootfs, '-cf', tarball, '.']);
  return { rootfs, tarball };
}

/** A host and the teardown {@link Cluster.stop} runs for it. */
interface HostState {
  host: SimHost;
  teardown(): Promise<void>;
}

const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '');

function makeHost(
  index: number,
  u: Underlay['hosts'][number],
  dir: string,
  image: ClusterImage,
  etcdFlags: string[],
  opts: ClusterOptions,
): HostState {
  const pluginsDir = join(dir, 'plugins');
  const stateDir = join(dir, 'state');
  const served = opts.only ?? ALL_KINDS;
  const sockets = Object.fromEntries(ALL_KINDS.map((k) => [k, join(pluginsDir, SOCKET_NAMES[k])])) as Record<PluginKind, string>;
  const cluster = etcdFlags.length > 0 && (opts.clusterHosts?.(index) ?? true) ? [...etcdFlags, '--advertise-addr', u.ip] : [];
  if (cluster.length > 0 && opts.clusterTtlS !== undefined) cluster.push('--cluster-ttl', String(opts.clusterTtlS));
  const argv = [
    ...['ip', 'netns', 'exec', u.netns, process.execPath, cliPath(), 'serve', '--plugins-dir', pluginsDir, '--state-dir', stateDir],
    // Agreement off: each host's engine-lite keeps its records in `<dir>/engine`, and the machine's dockerd knows none of them.
    ...['--docker-host', 'none', '--engine-lite-state', 'none', '--no-heal'],
    ...(opts.only ? ['--only', opts.only.join(',')] : []),
    ...cluster,
    ...(opts.serveArgs?.(index) ?? []),
  ];
  const proc = managedProcess(argv, {
    ready: async () => (await Promise.all(served.map((k) => pluginReady(sockets[k], k)))).every(Boolean),
  });
  const inNetns = ['nsenter', `--net=${netnsPath(u.netns)}`, '--'];
  const engineState = join(dir, 'engine');
  const enginePrefix = [...inNetns, process.execPath, engineLiteCliPath(), '--plugins-dir', pluginsDir, '--state-dir', engineState];
  enginePrefix.push('--plugin-timeout', String(opts.pluginTimeoutS ?? 15));
  const methods = cliMethods(enginePrefix);
  const deferred: (() => Promise<void>)[] = [];

  const plugin: HostPlugin = {
    pluginsDir,
    stateDir,
    sockets,
    served,
    get pid() {
      return proc.pid;
    },
    start: () => proc.start(),
    stop: () => proc.signal('SIGTERM'),
    async restart() {
      await proc.signal('SIGTERM');
      proc.note('restart');
      await proc.start();
    },
    kill9: () => proc.signal('SIGKILL'),
    logs: () => proc.logs(),
    call: (kind, method, body, callOpts) => pluginCall(sockets[kind], method, body, callOpts),
  };
  const host: SimHost = {
    index,
    name: `h${index}`,
    netns: u.netns,
    ip: u.ip,
    dir,
    plugin,
    runtime: { name: 'engine-lite', image: TEST_IMAGE, drivers: HOST_DRIVERS, ...methods },
    imageTarball: image.tarball,
    engine: methods.cli,
    async run(name, network, ...cmd) {
      const command = cmd.length > 0 ? cmd : ['sleep', '86400'];
      return (await methods.ok(['run', '-d', '--name', name, '--network', network, TEST_IMAGE, ...command])).trim();
    },
    exec: (name, ...cmd) => methods.cli(['exec', name, ...cmd]),
    sh: (cmd) => tryRun([...inNetns, ...cmd], { timeoutMs: 60_000 }),
    defer: (step) => void deferred.push(step),
  };
  return {
    host,
    async teardown() {
      const failures: unknown[] = [];
      for (const step of deferred.reverse()) await step().catch((err: unknown) => failures.push(err));
      if (existsSync(engineState)) {
        // Containers first, while the plugin still answers their Leave/DeleteEndpoint.
        for (const cid of lines((await methods.cli(['ps', '-aq', '--no-trunc'])).stdout)) await methods.cli(['rm', '-f', '-v', cid]);
      }
      await proc.signal('SIGTERM');
      if (failures.length > 0) throw new AggregateError(failures, `host ${host.name}: deferred teardown failed`);
    },
  };
}

/** Subnets for overlay networks that overlap neither the machine's routes nor the cluster's underlay. */
export async function overlaySubnets(cluster: Cluster, family: 4 | 6, count: number): Promise<string[]> {
  const under = parseCidr(cluster.underlay.subnet)!;
  const all = await freeSubnets(count + 1, { family, prefixLen: family === 4 ? 24 : 64 });
  return all.filter((s) => family === 6 || parseCidr(s)!.addr !== under.addr).slice(0, count);
}

/** The keys the cluster's etcd holds under `prefix` (asked from the underlay namespace, where it listens). */
export async function etcdKeys(cluster: Cluster, prefix: string): Promise<string[]> {
  if (!cluster.etcd) throw new Error(`cluster ${cluster.id} has no etcd (startCluster({ etcd: true }))`);
  const auth = cluster.etcdPassword !== undefined ? { user: ETCD_USER, password: cluster.etcdPassword } : undefined;
  const [r] = (await etcdGateway(cluster.etcd, [['/v3/kv/range', { ...keyRange(prefix, true), keys_only: true }]], auth)) as WireResponse[];
  return (r?.kvs ?? []).map((kv) => Buffer.from(kv.key ?? '', 'base64').toString());
}
