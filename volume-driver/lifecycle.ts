/**
 * @module The type-independent side of a volume's life: its directory, publishing its Mountpoint, the
 * guard against deleting through a mount, and Remove's trash. What each type mounts is in kinds/.
 * Every step is idempotent, so start-up reconciliation simply runs them again.
 *
 * Remove unmounts, moves the directory aside to `.trash-…`, forgets the record, then deletes the trash.
 *
 * With a mount dir (`--mount-dir`, a managed plugin's propagatedMount), a volume in use is also
 * published: `_data` bound on `<mountDir>/<name>`, the Mountpoint dockerd is given, made at Mount (and
 * at reconcile), undone at the last Unmount. The data itself stays under the state directory.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, renameSync, rmdirSync } from 'node:fs';
import { rm, rmdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { PluginError } from '../common/protocol/errors.js';
import type { VolumeHost } from './host.js';
import { kindOf, type KindContext } from './kinds/index.js';
import type { BuildSource } from './kinds/kind.js';
import type { VolumePaths } from './names.js';
import type { VolumeSpec } from './options.js';

/** Whether the volume keeps a filesystem mounted for its whole life (a size-limited local volume). */
export function alwaysMounted(spec: VolumeSpec): boolean {
  return kindOf(spec).mountedWhen === 'always';
}

/**
 * Makes directory `path` (its parent exists) unless it is there. Synchronously, like the other
 * one-call metadata steps of Create and Remove: each trip through libuv's thread pool costs a thread
 * wake-up and another of the event loop, several times the system call on a 2-core VM.
 */
function mkdirOnce(path: string, mode: number): void {
  try {
    mkdirSync(path, { mode });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

/** Makes the volume's directory (0700) and `_data`, then its kind's content (from `source` if given). Idempotent. */
export async function buildVolume(ctx: KindContext, spec: VolumeSpec, source?: BuildSource): Promise<void> {
  // One level each (the volumes root exists): a recursive mkdir costs several times more, on every Create.
  mkdirOnce(ctx.paths.dir, 0o700);
  mkdirOnce(ctx.paths.data, 0o755);
  await kindOf(spec).build(ctx, spec, source);
}

/** Binds the volume's data on its Mountpoint when that is elsewhere (a mount dir). Idempotent. */
export async function publishVolume(host: VolumeHost, paths: VolumePaths): Promise<void> {
  if (paths.mountpoint !== paths.data) await host.bind(paths.data, paths.mountpoint);
}

/** Undoes {@link publishVolume}: unmounts (lazily) and removes the Mountpoint directory. Idempotent. */
export async function unpublishVolume(host: VolumeHost, paths: VolumePaths): Promise<void> {
  if (paths.mountpoint === paths.data) return;
  await host.unmount(paths.mountpoint);
  await rmdir(paths.mountpoint).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

/**
 * Throws unless nothing is mounted at or below `dir`, so a failed unmount can never lead to deleting
 * data through a mount.
 * @throws PluginError naming the mounts.
 */
export async function assertNoMounts(host: VolumeHost, dir: string): Promise<void> {
  const left = await host.mountsUnder(dir);
  if (left.length > 0) {
    throw new PluginError(`${dir} still has mounts (${left.join(', ')}); nothing was deleted`, { code: 'ERR_VOLUME_BUSY' });
  }
}

/** Deletes the tree at `dir` after {@link assertNoMounts}. Idempotent. */
export async function deleteTree(host: VolumeHost, dir: string): Promise<void> {
  await assertNoMounts(host, dir);
  await rm(dir, { recursive: true, force: true });
}

/** Unmounts and deletes everything of the volume (undoing a Create). Idempotent. */
export async function destroyVolume(ctx: KindContext, spec: VolumeSpec): Promise<void> {
  await kindOf(spec).deactivate(ctx, spec);
  await deleteTree(ctx.host, ctx.paths.dir);
}

/** Prefix of a removed volume's directory while it is being deleted; volume names cannot start with ".". */
export const TRASH_PREFIX = '.trash-';

/**
 * Moves the volume's directory aside, atomically, to `<root>/.trash-<name>-<hex>` (the first step of
 * a Remove, so a crash leaves either the volume or clearly-marked trash). A missing directory is fine.
 * The rename is one metadata system call, made synchronously: through libuv's thread pool it cost a
 * Remove 0.3–0.4 ms on a loaded 2-core host, several times the call itself.
 * @returns the trash path.
 */
export function trashVolumeDir(paths: VolumePaths): string {
  const trash = join(paths.dir, '..', `${TRASH_PREFIX}${basename(paths.dir)}-${randomBytes(4).toString('hex')}`);
  try {
    renameSync(paths.dir, trash);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return trash;
}

/**
 * Deletes trash left by {@link trashVolumeDir}. A volume that never held a file (an empty `_data`, the
 * usual end of a short-lived volume) goes with two synchronous rmdirs; anything else with a recursive
 * delete off the event loop, which a large tree never blocks. Idempotent.
 */
export async function deleteTrash(trash: string): Promise<void> {
  try {
    rmdirSync(join(trash, '_data'));
    rmdirSync(trash);
    return;
  } catch {
    // not empty, already gone, or a busy `_data`: the general path below says which
  }
  await rm(trash, { recursive: true, force: true });
}

/** The volume name a trash directory entry belongs to, or undefined if `entry` is not trash. */
export function trashOwner(entry: string): string | undefined {
  return entry.startsWith(TRASH_PREFIX) ? entry.slice(TRASH_PREFIX.length, entry.lastIndexOf('-')) : undefined;
}

/**
 * Whether the volume's directory holds nothing but an empty `_data` with nothing mounted: what a
 * Create leaves when it dies before its record is written, safe to reuse or delete.
 */
export async function isEmptyLeftover(host: VolumeHost, paths: VolumePaths): Promise<boolean> {
  // Synchronous (see mkdirOnce): on a Create the directory is almost always missing.
  const list = (dir: string) => {
    try {
      return readdirSync(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  };
  const top = list(paths.dir);
  if (top === undefined) return true;
  if (top.some((e) => e !== '_data') || (list(paths.data) ?? []).length > 0) return false;
  return (await host.mountsUnder(paths.dir)).length === 0;
}
