/**
 * @module `type=dir` (`-o path=/srv/data`): a host directory the user chooses, as a named volume.
 * The path is resolved (symlinks followed) and checked against the refused places at Create, and
 * again at every Mount: the resolved directory must be the one recorded at Create, so a symlink
 * swapped in later cannot send a container elsewhere. While in use, that resolved directory is bound
 * on `_data` (the Mountpoint dockerd gets), so what containers see is pinned to the checked inode.
 * Remove unbinds and forgets; the user's directory itself is never deleted.
 */
import { mkdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, normalize, relative } from 'node:path';
import { realpathIfExists } from '../../common/kernel/mount.js';
import { InvalidRequestError, PluginError } from '../../common/protocol/errors.js';
import type { VolumeSpec } from '../options.js';
import { refusalOf } from './directory-rules.js';
import type { KindContext, VolumeKind } from './kind.js';

/** A directory volume's path is a refused place, or no longer the directory checked at Create. */
export class VolumePathRefusedError extends PluginError {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super(message, { code: 'ERR_VOLUME_PATH_REFUSED', status: 400, ...opts });
    this.name = 'VolumePathRefusedError';
  }
}

/** Two volumes on one directory without both saying `shared=true`. */
export class VolumePathSharedError extends PluginError {
  constructor(message: string) {
    super(message, { code: 'ERR_VOLUME_PATH_SHARED', status: 400 });
    this.name = 'VolumePathSharedError';
  }
}

const refuse = (message: string) => new VolumePathRefusedError(message);

/** Throws unless `real` (what `given` resolved to) may back a volume. */
function checkPlace(given: string, real: string, stateDir: string, when: string): void {
  const why = refusalOf(real, stateDir);
  if (why === undefined) return;
  const via = real === normalize(given) ? '' : ` resolves to "${real}" (through a symlink), which`;
  throw refuse(`path "${given}"${via} is refused ${when}: ${why}`);
}

/**
 * Resolves `spec.path`, making it (and parents) when missing and `spec.create` is set, with the
 * spec's owner and mode. Every refused place is checked before anything is made.
 * @returns the resolved directory and whether it was made now.
 */
async function resolveAtCreate(spec: VolumeSpec, stateDir: string): Promise<{ real: string; made: boolean }> {
  const given = spec.path!;
  checkPlace(given, normalize(given), stateDir, 'at create');
  let real = await realpathIfExists(given);
  let made = false;
  if (real === undefined) {
    if (!spec.create) throw new InvalidRequestError(`path "${given}" does not exist; make it first or add -o create=true`);
    let ancestor = dirname(normalize(given));
    while ((await realpathIfExists(ancestor)) === undefined) ancestor = dirname(ancestor);
    const target = join(await realpath(ancestor), relative(ancestor, normalize(given)));
    checkPlace(given, target, stateDir, 'at create');
    await mkdir(target, { recursive: true, mode: 0o755 });
    real = await realpath(given);
    made = true;
  }
  checkPlace(given, real, stateDir, 'at create');
  if (!(await stat(real)).isDirectory()) throw new InvalidRequestError(`path "${given}" is not a directory`);
  return { real, made };
}

/**
 * Resolves `spec.path` again and throws unless it is still the directory recorded at Create and
 * still allowed: a symlink or rename since then is refused, never followed.
 */
async function resolveAtMount(spec: VolumeSpec, stateDir: string): Promise<string> {
  const given = spec.path!;
  const real = await realpathIfExists(given);
  if (real === undefined) throw refuse(`path "${given}" no longer exists; make it again or remove the volume`);
  checkPlace(given, real, stateDir, 'at mount');
  if (real !== spec.realPath) {
    throw refuse(`path "${given}" now resolves to "${real}", not "${spec.realPath}" as at create (a symlink or move since then) and is refused at mount; remove the volume and create it again if this is intended`);
  }
  return real;
}

/** Runs `fn`, prefixing the message of a refusal with the volume's name (from its directory). */
async function named<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const prefix = `volume "${basename(dir)}": `;
    if (err instanceof VolumePathRefusedError) throw new VolumePathRefusedError(prefix + err.message, { cause: err });
    if (err instanceof InvalidRequestError) throw new InvalidRequestError(prefix + err.message, { cause: err });
    throw err;
  }
}

export const directory: VolumeKind = {
  backing: 'host directory',
  mountedWhen: 'in-use',
  usageBy: 'walk',
  keepsContent: true,
  cloneable: false,
  snapshotForm: undefined,
  locksAll: true,
  async prepare({ host, paths, stateDir }: KindContext, spec, others) {
    const { real, made } = await named(paths.dir, () => resolveAtCreate(spec, stateDir));
    const sharing = others().filter((r) => r.spec.type === 'dir' && r.spec.realPath === real);
    const unshared = sharing.filter((r) => !r.spec.shared);
    if (sharing.length > 0 && (!spec.shared || unshared.length > 0)) {
      const names = sharing.map((r) => `"${r.name}"`).join(', ');
      const fix = spec.shared ? `${names} did not set -o shared=true` : 'add -o shared=true to both volumes';
      throw new VolumePathSharedError(`volume "${basename(paths.dir)}": path "${spec.path}" (${real}) already backs volume ${names}; two volumes on one directory need shared=true: ${fix}`);
    }
    if (made) await host.setRoot(real, { uid: spec.uid, gid: spec.gid, mode: spec.mode });
    return { ...spec, realPath: real };
  },
  build: async () => undefined,
  async activate({ host, paths, stateDir }, spec) {
    await host.bind(await named(paths.dir, () => resolveAtMount(spec, stateDir)), paths.data);
  },
  release: ({ host, paths }) => host.unmount(paths.data),
  deactivate: ({ host, paths }) => host.unmount(paths.data),
  contentPath: (_ctx, spec) => spec.realPath!,
};
