/**
 * @module A second, private dockerd for tests that must restart or configure the daemon without
 * touching the machine's own: its own data root, exec root and API socket under `/tmp/tstest-<hex>/`,
 * no bridge and no firewall rules of its own. v1 plugins are still found through
 * `/etc/docker/plugins`, so a harness's spec files reach it too.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { start, type Child } from '../../common/kernel/exec.js';
import { unmountUnder } from '../../common/kernel/mount.js';
import { cliMethods, type Runtime } from './runtime.js';
import { buildBusyboxRootfs, mustRun, pollUntil, tryRun } from '../system.js';

export interface PrivateDockerd {
  readonly dir: string;
  /** `unix://…` address for `docker -H`. */
  readonly host: string;
  /** A docker runtime bound to this daemon; `drivers` are the given harness names. */
  runtime(drivers: Runtime['drivers'], image: string): Runtime;
  /**
   * Stops the daemon (SIGTERM), runs `whileStopped` if given (e.g. a simulated reboot), and starts it
   * again on the same data root; resolves when it answers.
   */
  restart(whileStopped?: () => Promise<void>): Promise<void>;
  /** Stops the daemon (SIGTERM), keeping its data root for {@link PrivateDockerd.start}. */
  halt(): Promise<void>;
  /** Starts the daemon again after {@link PrivateDockerd.halt}; resolves when it answers. */
  start(): Promise<void>;
  /** Stops the daemon and removes everything it had. Idempotent. */
  stop(): Promise<void>;
}

/** Starts a private dockerd and imports a busybox rootfs into it as `image`. */
export async function startPrivateDockerd(image: string): Promise<PrivateDockerd> {
  const dir = `/tmp/tstest-${randomBytes(4).toString('hex')}-dockerd`;
  const host = `unix://${dir}/docker.sock`;
  const args = [
    ...['--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '-H', host, '--pidfile', join(dir, 'docker.pid')],
    ...['--bridge', 'none', '--iptables=false', '--ip6tables=false'],
  ];
  let child: Child | undefined;
  const docker = (a: readonly string[]) => tryRun(['docker', '-H', host, ...a], { timeoutMs: 60_000 });

  async function launch(): Promise<void> {
    const log = { file: join(dir, 'dockerd.log') };
    child = start(['dockerd', ...args], { stdout: log, stderr: log });
    const up = await pollUntil(async () => (await docker(['info'])).code === 0, { timeoutMs: 60_000, intervalMs: 200 });
    if (!up) throw new Error(`private dockerd did not start: ${(await readFile(join(dir, 'dockerd.log'), 'utf8')).slice(-2000)}`);
  }

  async function halt(): Promise<void> {
    if (child) await child.terminate(30_000);
  }

  async function stop(): Promise<void> {
    await halt();
    // dockerd leaves its overlay and shm mounts behind when killed mid-way; they are all under dir.
    await unmountUnder(dir, { lazy: true });
    await rm(dir, { recursive: true, force: true });
  }

  await mkdir(dir, { recursive: true, mode: 0o700 });
  try {
    await launch();
    await buildBusyboxRootfs(join(dir, 'rootfs'));
    await mustRun(['tar', '--numeric-owner', '-C', join(dir, 'rootfs'), '-cf', join(dir, 'rootfs.tar'), '.']);
    const imported = await docker(['import', join(dir, 'rootfs.tar'), image]);
    if (imported.code !== 0) throw new Error(`docker import into the private dockerd failed: ${imported.stderr}`);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    dir,
    host,
    runtime: (drivers, img) => ({ name: 'docker', image: img, drivers, ...cliMethods(['docker', '-H', host]) }),
    async restart(whileStopped) {
      await halt();
      await whileStopped?.();
      await launch();
    },
    halt,
    start: launch,
    stop,
  };
}
