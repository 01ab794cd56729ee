/**
 * @module What the integration tests need from the machine: Debian packages, a running dockerd and a
 * tiny busybox image. Everything is installed or started only when missing, so the same code serves a
 * prepared workstation and a fresh CI machine. Never touches anything the suite did not start.
 */
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandError, run, start, type Child } from '../common/kernel/exec.js';
import { parseMountInfo } from '../common/kernel/mount-info.js';
import { packageRoot } from '../common/package-info.js';

/** Output of a program run by {@link tryRun}; `code` is null when it could not start or was killed. */
export interface TryRunResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

/** Options of {@link tryRun} and {@link mustRun}; without `timeoutMs` a program may run for ever. */
export interface TryRunOptions {
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/**
 * Runs `argv` (never a shell string) and resolves with its output and exit code; never rejects.
 * A program that cannot be started yields `code: null` and the reason in `stderr`.
 */
export async function tryRun(argv: readonly string[], opts: TryRunOptions = {}): Promise<TryRunResult> {
  try {
    const r = await run(argv, { object: argv.join(' '), step: 'run', ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}), ...(opts.env ? { env: opts.env } : {}) });
    return { ...r, code: 0 };
  } catch (err) {
    if (!(err instanceof CommandError)) throw err;
    return { stdout: err.stdout, stderr: err.stderr || err.message, code: err.exitCode };
  }
}

const failed = (argv: readonly string[], r: TryRunResult) => new Error(`\`${argv.join(' ')}\` failed (exit ${r.code}): ${r.stderr.trim()}`);

/** Like {@link tryRun}, but rejects with the command and its stderr on a non-zero exit. */
export async function mustRun(argv: readonly string[], opts: TryRunOptions = {}): Promise<TryRunResult> {
  const r = await tryRun(argv, opts);
  if (r.code !== 0) throw failed(argv, r);
  return r;
}

/** Runs `argv`, counting a failure whose stderr matches `gone` ("no such …") as success; rejects otherwise. */
export async function runUnlessGone(argv: readonly string[], gone: RegExp, timeoutMs?: number): Promise<void> {
  const r = await tryRun(argv, timeoutMs ? { timeoutMs } : {});
  if (r.code !== 0 && !gone.test(r.stderr)) throw failed(argv, r);
}

/**
 * Mountpoints of this mount namespace for which `match` holds, in the order to unmount them: deepest
 * first, and the last-mounted first where mounts are stacked on one mountpoint.
 */
export async function mountsMatching(match: (mountPoint: string) => boolean): Promise<string[]> {
  const all = parseMountInfo(await readFile('/proc/self/mountinfo', 'utf8')).map((m, i) => ({ mp: m.mountPoint, i }));
  return all
    .filter(({ mp }) => match(mp))
    .sort((a, b) => b.mp.length - a.mp.length || b.i - a.i)
    .map(({ mp }) => mp);
}

/** `umount --lazy` (detaches now, frees when unused); "not mounted" counts as done. */
export function unmountLazy(mountPoint: string): Promise<void> {
  return runUnlessGone(['umount', '--lazy', mountPoint], /not mounted|no mount point|No such file/);
}

/** The repository root: the nearest folder above this file with a package.json (works from source and from dist/). */
export const repoRoot = packageRoot;

let aptUpdated: Promise<TryRunResult> | undefined;

const APT_ENV = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
// Wait for another apt/dpkg run instead of failing at once on its lock.
const APT_LOCK = ['-o', 'DPkg::Lock::Timeout=300'];

/** Whether a Debian package is installed (`dpkg-query` status `install ok installed`). */
export async function isPackageInstalled(pkg: string): Promise<boolean> {
  const r = await tryRun(['dpkg-query', '-W', '-f=${Status}', pkg]);
  return r.code === 0 && r.stdout.includes('install ok installed');
}

/**
 * Installs the Debian packages of `pkgs` that are missing. Idempotent: when all are installed it runs
 * nothing; `apt-get update` runs at most once per process. Rejects with apt's stderr on failure.
 */
export async function ensurePackages(pkgs: readonly string[]): Promise<void> {
  const installed = await Promise.all(pkgs.map(isPackageInstalled));
  const missing = pkgs.filter((_, i) => !installed[i]);
  if (missing.length === 0) return;
  aptUpdated ??= mustRun(['apt-get', ...APT_LOCK, 'update'], { env: APT_ENV }).catch((err: unknown) => {
    aptUpdated = undefined; // let a later call try again
    throw err;
  });
  await aptUpdated;
  await mustRun(['apt-get', ...APT_LOCK, 'install', '-y', ...missing], { env: APT_ENV });
}

/** Log file of a dockerd started by {@link ensureDockerd}. */
export const DOCKERD_LOG = '/var/log/tsnet-test-dockerd.log';

/** A dockerd that answers; `stop()` stops it only if {@link ensureDockerd} started it. */
export interface DockerdHandle {
  startedByUs: boolean;
  stop(): Promise<void>;
}

/** Whether `docker info` answers (a daemon is up and the CLI reaches it). */
export async function dockerAnswers(): Promise<boolean> {
  return (await tryRun(['docker', 'info', '--format', '{{.ServerVersion}}'], { timeoutMs: 20_000 })).code === 0;
}

/** Polls `check` every `intervalMs` until it returns true; false when `timeoutMs` passed or `abort()` said so. */
export async function pollUntil(
  check: () => Promise<boolean>,
  { timeoutMs, intervalMs = 250, abort }: { timeoutMs: number; intervalMs?: number; abort?: () => boolean },
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (abort?.() || Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

async function logTail(path: string, lines = 30): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Options of {@link ensureDockerd}; the defaults start the system's daemon. */
export interface EnsureDockerdOptions {
  /** Extra dockerd arguments (e.g. a private `-H`/`--data-root`, with DOCKER_HOST set to match). */
  args?: string[];
  /** Log file; default {@link DOCKERD_LOG}. */
  log?: string;
}

/**
 * Uses the dockerd that answers `docker info`, or starts one (detached, logging to {@link DOCKERD_LOG})
 * and waits up to 60 s for it. Rejects with the log's tail when it does not come up.
 */
export async function ensureDockerd(opts: EnsureDockerdOptions = {}): Promise<DockerdHandle> {
  if (await dockerAnswers()) return { startedByUs: false, stop: async () => undefined };
  const logPath = opts.log ?? DOCKERD_LOG;
  const child: Child = start(['dockerd', ...(opts.args ?? [])], { detached: true, stdout: { file: logPath }, stderr: { file: logPath } });
  child.unref();
  const up = await pollUntil(dockerAnswers, { timeoutMs: 60_000, intervalMs: 500, abort: () => child.exited });
  if (!up) {
    child.kill('SIGTERM');
    const startError = child.exited ? (await child.done).startError : undefined;
    const why = startError ? `could not start: ${startError}` : child.exited ? 'exited' : 'did not answer within 60 s';
    throw new Error(`dockerd ${why}; last lines of ${logPath}:\n${await logTail(logPath)}`);
  }
  return {
    startedByUs: true,
    async stop() {
      // dockerd stops its containers first (10 s grace each, in parallel) and then containerd.
      await child.terminate(45_000);
    },
  };
}

/** Name of the image the integration tests run: busybox only, imported from a local tarball. */
export const TEST_IMAGE = 'tsnet-test/busybox:latest';

/** Path of the static busybox from Debian's `busybox-static`. */
export const STATIC_BUSYBOX = '/bin/busybox';

/**
 * Fills `dir` with a minimal root filesystem: `/bin/busybox` and a link per applet in `/bin`, a root and a
 * nobody user, and empty `/tmp`, `/proc`, `/sys`, `/dev`. Usable by docker import and by engine-lite.
 */
export async function buildBusyboxRootfs(dir: string, busybox = STATIC_BUSYBOX): Promise<void> {
  for (const d of ['bin', 'etc', 'root', 'tmp', 'proc', 'sys', 'dev']) await mkdir(join(dir, d), { recursive: true });
  await copyFile(busybox, join(dir, 'bin/busybox'));
  const applets = (await mustRun([busybox, '--list'])).stdout.split('\n').map((a) => a.trim());
  for (const applet of new Set(applets)) {
    if (applet !== '' && applet !== 'busybox') await symlink('busybox', join(dir, 'bin', applet));
  }
  await writeFile(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  await writeFile(join(dir, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
}

/** Label value of an image built by {@link ensureTestImage}; bump it when {@link buildBusyboxRootfs} changes. */
const TEST_IMAGE_VERSION = '1';
const TEST_IMAGE_LABEL = 'tsnet.test-image';

/**
 * Makes sure dockerd has `image` (default {@link TEST_IMAGE}) as built by this version of the code: when
 * it is absent, or lacks our version label (an older or hand-made build), builds a busybox rootfs in a
 * temporary folder, `docker import`s it (replacing the tag) and removes the folder. Returns the image name.
 */
export async function ensureTestImage(image = TEST_IMAGE): Promise<string> {
  const label = await tryRun(['docker', 'image', 'inspect', '--format', `{{index .Config.Labels "${TEST_IMAGE_LABEL}"}}`, image]);
  if (label.code === 0 && label.stdout.trim() === TEST_IMAGE_VERSION) return image;
  const work = await mkdtemp(join(tmpdir(), 'tstest-image-'));
  try {
    const rootfs = join(work, 'rootfs');
    await buildBusyboxRootfs(rootfs);
    const tarball = join(work, 'rootfs.tar');
    await mustRun(['tar', '--numeric-owner', '-C', rootfs, '-cf', tarball, '.']);
    const changes = ['CMD ["sh"]', `LABEL ${TEST_IMAGE_LABEL}=${TEST_IMAGE_VERSION}`].flatMap((c) => ['--change', c]);
    await mustRun(['docker', 'import', ...changes, tarball, image]);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return image;
}
