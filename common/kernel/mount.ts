/**
 * @module Mounts: tmpfs, overlay and bind mounts for volumes and engine-lite's root filesystems.
 * Runs the `mount`/`umount` programs through {@link run}; reads state from `/proc/self/mountinfo`.
 * Every verb is idempotent and creates missing target directories; it never unmounts anything it
 * was not pointed at.
 */
import { readFileSync } from 'node:fs';
import { mkdir, realpath, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { KernelError } from './errors.js';
import { CommandError, run } from './exec.js';
import {
  mountContaining,
  mountsAt,
  mountsUnder,
  overlayOptions,
  parseMountInfo,
  tmpfsOptions,
  type MountInfo,
  type TmpfsOptions,
} from './mount-info.js';

export type { MountInfo, TmpfsOptions } from './mount-info.js';

const MOUNTINFO = '/proc/self/mountinfo';

/**
 * The text of the mount table now, read synchronously: the kernel makes it in memory (no disk I/O),
 * and one synchronous read is a few system calls, where `readFile` takes five trips through libuv's
 * thread pool (open, fstat, read, read, close), each a wake-up of another thread: 0.7 ms of a volume
 * Remove on a loaded 2-core host, against 0.06 ms.
 */
function mountTable(): string {
  return readFileSync(MOUNTINFO, 'utf8');
}

function readMounts(): MountInfo[] {
  return parseMountInfo(mountTable());
}

/** `realpath`, or `undefined` when the path does not exist. */
async function realpathIfExists(path: string): Promise<string | undefined> {
  try {
    return await realpath(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Creates `path` as a directory if missing and returns its resolved path. */
async function ensureDir(path: string): Promise<string> {
  await mkdir(path, { recursive: true });
  return realpath(path);
}

/** The mount visible at `path`, if `path` is a mount point. */
async function topMountAt(path: string): Promise<MountInfo | undefined> {
  const real = await realpathIfExists(path);
  if (real === undefined) return undefined;
  return mountsAt(readMounts(), real).at(-1);
}

/**
 * Lists the mounts at or below `prefixPath` (resolved; by path components), in mount order.
 * Read-only. An absent prefix yields `[]`. With `resolved`, the caller vouches that `prefixPath` is
 * absolute and has no symlink in it (mountinfo's form), and it is used as it is.
 */
export async function listMounts(prefixPath = '/', opts: { resolved?: boolean } = {}): Promise<MountInfo[]> {
  const prefix = opts.resolved ? prefixPath : ((await realpathIfExists(prefixPath)) ?? prefixPath);
  return mountsUnder(mountTable(), prefix);
}

/** Whether something is mounted exactly at `path` (after resolving symlinks). A missing path is not one. */
export async function isMountpoint(path: string): Promise<boolean> {
  return (await topMountAt(path)) !== undefined;
}

/** What {@link ensureMount} mounts. `options` are passed as one `-o` list. */
export interface MountSpec {
  source: string;
  target: string;
  fstype: string;
  options: string[];
}

/**
 * Mounts `source` on `target` (created if missing) as `fstype` with `options`. Idempotent: if a
 * filesystem of that type is already the visible mount at `target`, nothing is done (its options
 * are not compared).
 * @returns whether it mounted.
 * @throws KernelError when a different filesystem type is mounted there; CommandError when mount fails.
 */
export async function ensureMount(spec: MountSpec): Promise<boolean> {
  const target = await ensureDir(spec.target);
  const top = mountsAt(readMounts(), target).at(-1);
  const object = `mount "${target}"`;
  if (top?.fstype === spec.fstype) return false;
  if (top) throw new KernelError(object, 'create', `already mounted as ${top.fstype} from ${top.source}, not ${spec.fstype}`);
  const argv = ['mount', '-t', spec.fstype];
  if (spec.options.length > 0) argv.push('-o', spec.options.join(','));
  await run([...argv, spec.source, target], { object, step: 'create' });
  return true;
}

/**
 * Unmounts everything stacked at `target` (lazily with `lazy`, i.e. `umount -l`). Idempotent: a
 * path that is not a mount point, or is missing, counts as unmounted.
 * @returns whether anything was unmounted.
 * @throws CommandError when umount fails (e.g. busy without `lazy`).
 */
export async function unmount(target: string, opts: { lazy?: boolean } = {}): Promise<boolean> {
  const real = await realpathIfExists(target);
  if (real === undefined) return false;
  let count = 0;
  // Mounts can be stacked on one path; each umount removes the top one.
  while (mountsAt(readMounts(), real).length > 0) {
    if (count++ > 32) throw new KernelError(`mount "${real}"`, 'unmount', 'still mounted after 32 umount calls');
    try {
      await run(['umount', ...(opts.lazy ? ['-l'] : []), real], { object: `mount "${real}"`, step: 'unmount' });
    } catch (err) {
      if (!(err instanceof CommandError && /not mounted|no mount point/.test(err.stderr))) throw err;
    }
  }
  return count > 0;
}

/**
 * Unmounts every mount at or below `prefixPath`, deepest first (cleanup of a sandbox or a test's
 * temp dir). Idempotent.
 * @returns how many mount points were unmounted.
 * @throws CommandError when an umount fails.
 */
export async function unmountUnder(prefixPath: string, opts: { lazy?: boolean } = {}): Promise<number> {
  const points = [...new Set((await listMounts(prefixPath)).map((m) => m.mountPoint))];
  points.sort((a, b) => b.length - a.length);
  let n = 0;
  for (const p of points) if (await unmount(p, opts)) n++;
  return n;
}

/** Options of {@link bindMount}. */
export interface BindOptions {
  /** Read-only (a second `remount,bind,ro` step; with `recursive`, submounts stay as they were). */
  readonly?: boolean;
  /** `--rbind`: include the mounts below `src`. */
  recursive?: boolean;
}

/**
 * Bind-mounts `src` on `dst`. A missing `dst` is created as a directory or an empty file, like
 * `src`. Idempotent: if `src` is already bound there, only the read-only flag is brought in line.
 * @returns whether it mounted or remounted.
 * @throws KernelError when `src` is missing; CommandError when mount fails.
 */
export async function bindMount(src: string, dst: string, opts: BindOptions = {}): Promise<boolean> {
  const srcReal = await realpathIfExists(src);
  if (srcReal === undefined) throw new KernelError(`bind mount "${dst}"`, 'create', `source "${src}" does not exist`);
  if ((await realpathIfExists(dst)) === undefined) {
    if ((await stat(srcReal)).isDirectory()) await mkdir(dst, { recursive: true });
    else await writeFile(dst, '', { flag: 'a' });
  }
  const dstReal = await realpath(dst);
  const object = `bind mount "${dstReal}"`;
  const mounts = readMounts();
  const top = mountsAt(mounts, dstReal).at(-1);
  const from = mountContaining(mounts, srcReal);
  const bound = top !== undefined && from !== undefined && top.device === from.device && top.root === join(from.root, relative(from.mountPoint, srcReal));
  if (!bound) {
    await run(['mount', opts.recursive ? '--rbind' : '--bind', srcReal, dstReal], { object, step: 'create' });
  }
  // A new bind copies the source mount's flags, so check the read-only flag on what is there now.
  const now = bound ? top : mountsAt(readMounts(), dstReal).at(-1);
  if ((now?.mountOptions.includes('ro') ?? false) === Boolean(opts.readonly)) return !bound;
  const mode = opts.readonly ? 'ro' : 'rw';
  await run(['mount', '-o', `remount,bind,${mode}`, dstReal], { object, step: `make ${mode}` });
  return true;
}

/** What {@link mountOverlay} mounts: `lower` top-most first, as overlayfs orders `lowerdir`. */
export interface OverlaySpec {
  lower: string[];
  upper: string;
  work: string;
  target: string;
}

/**
 * Mounts an overlay of `lower` with `upper`/`work` on `target`, creating `upper`, `work` and
 * `target` if missing. Idempotent: an overlay with the same upper directory already at `target` is kept.
 * @returns whether it mounted.
 * @throws KernelArgumentError for paths overlay options cannot carry; KernelError when `target` holds
 * another mount; CommandError when mount fails.
 */
export async function mountOverlay(spec: OverlaySpec): Promise<boolean> {
  const upper = await ensureDir(spec.upper);
  const work = await ensureDir(spec.work);
  const options = overlayOptions(spec.lower, upper, work);
  const target = await ensureDir(spec.target);
  const top = await topMountAt(target);
  if (top?.fstype === 'overlay' && top.superOptions.includes(`upperdir=${upper}`)) return false;
  if (top) {
    throw new KernelError(`overlay "${target}"`, 'create', `already mounted as ${top.fstype} from ${top.source} (${top.superOptions.join(',')})`);
  }
  return ensureMount({ source: 'overlay', target, fstype: 'overlay', options });
}

/**
 * Mounts a tmpfs on `target` (created if missing), always `nosuid,nodev`, with the size, mode,
 * owner and inode limit given. Idempotent: a tmpfs already at `target` is kept as it is.
 * @returns whether it mounted.
 * @throws KernelArgumentError for invalid options; KernelError when another filesystem is mounted there;
 * CommandError when mount fails.
 */
export async function mountTmpfs(target: string, opts: TmpfsOptions = {}): Promise<boolean> {
  return ensureMount({ source: opts.source ?? 'tmpfs', target, fstype: 'tmpfs', options: tmpfsOptions(opts) });
}
