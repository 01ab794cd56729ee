/**
 * @module A real dockerd on a simulated host ({@link SimHost}): it runs in the host's network namespace
 * (`nsenter --net`, not `ip netns exec`, which would hide `/sys/fs/cgroup` from it) and in a private
 * mount namespace of its own, where the host's plugin folder is bind-mounted on `/run/docker/plugins`
 * and an empty tmpfs covers `/etc/docker/plugins`: it finds that host's `tsnet`, `tsipam` and `tsvol`
 * and no other plugin. Data root, exec root, pid file, API socket and config file are its own, under the
 * host's folder; no bridge and no firewall rules. The cluster's teardown stops it.
 */
import { join } from 'node:path';
import { mkdir, writeFile } from 'node:fs/promises';
import { netnsPath } from '../../common/kernel/netns.js';
import { managedProcess } from '../managed-process.js';
import { HOST_DRIVERS, type SimHost } from '../cluster/multihost.js';
import { cliMethods, type Runtime } from './runtime.js';
import { tryRun, type TryRunResult } from '../system.js';

/** Mounts the plugin folder `$0` where dockerd looks for plugins, then becomes `"$@"` (dockerd). */
const MOUNT_PLUGINS_THEN_EXEC = [
  'set -e',
  'mkdir -p /run/docker/plugins /etc/docker/plugins',
  'mount --bind "$0" /run/docker/plugins',
  'mount -t tmpfs -o size=64k,mode=0755 tstest-specs /etc/docker/plugins',
  'exec "$@"',
].join('\n');

/** A dockerd inside a simulated host; see {@link startHostDockerd}. */
export interface HostDockerd {
  /** Its folder, `<host dir>/dockerd`. */
  readonly dir: string;
  /** `unix://…` address for `docker -H`. */
  readonly host: string;
  /** A docker {@link Runtime} on this daemon, reaching the host's plugins by their socket names. */
  readonly runtime: Runtime;
  /** Runs the docker CLI against this daemon; never rejects on a non-zero exit. */
  docker(args: readonly string[]): Promise<TryRunResult>;
  /** Everything the daemon wrote. */
  logs(): string;
  /** Stops the daemon (SIGTERM; it stops its containers first). Idempotent; the cluster's teardown calls it too. */
  stop(): Promise<void>;
}

/** Options of {@link startHostDockerd}. */
export interface HostDockerdOptions {
  /** The daemon's `daemon.json` text; default `{}`. */
  config?: string;
}

/**
 * Starts dockerd in `host` and imports the cluster's busybox tarball into it as `image`. Resolves once
 * the image is there; on failure the daemon is stopped before it rejects.
 */
export async function startHostDockerd(host: SimHost, image: string, opts: HostDockerdOptions = {}): Promise<HostDockerd> {
  const dir = join(host.dir, 'dockerd');
  const api = `unix://${join(dir, 'docker.sock')}`;
  const configFile = join(dir, 'daemon.json');
  const dockerdArgs = [
    ...['--config-file', configFile, '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec')],
    ...['--pidfile', join(dir, 'docker.pid'), '-H', api, '--bridge=none', '--iptables=false', '--ip6tables=false'],
  ];
  const argv = [
    ...['nsenter', `--net=${netnsPath(host.netns)}`, '--', 'unshare', '--mount', '--propagation', 'private', '--'],
    ...['sh', '-c', MOUNT_PLUGINS_THEN_EXEC, host.plugin.pluginsDir, 'dockerd', ...dockerdArgs],
  ];
  const docker = (args: readonly string[]) => tryRun(['docker', '-H', api, ...args], { timeoutMs: 120_000 });
  const proc = managedProcess(argv, {
    ready: async () => (await tryRun(['docker', '-H', api, 'version'], { timeoutMs: 10_000 })).code === 0,
    readyTimeoutMs: 60_000,
    termGraceMs: 45_000,
  });
  const stop = () => proc.signal('SIGTERM');
  host.defer(stop);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(configFile, opts.config ?? '{}\n');
  try {
    await proc.start();
    const imported = await docker(['import', '--change', 'CMD ["sh"]', host.imageTarball, image]);
    if (imported.code !== 0) throw new Error(`docker import into the dockerd of ${host.name} failed: ${imported.stderr}`);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    dir,
    host: api,
    runtime: { name: 'docker', image, drivers: HOST_DRIVERS, ...cliMethods(['docker', '-H', api]) },
    docker,
    logs: () => proc.logs(),
    stop,
  };
}
