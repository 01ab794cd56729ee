/**
 * @module `type=dir` (`-o path=/srv/data`): a host directory the user chooses, as a named volume.
 * The path is a host path, reached inside `--host-root` (`/`, or `/host` in the managed plugin) and
 * resolved there as the host would (common/kernel/host-root.ts); the resolved host path is what the
 * rules, Status and messages use. It is checked against the refused places at Create, and
 * again at every Mount: the resolved directory must be the one recorded at Create, so a symlink
 * swapped in later cannot send a container elsewhere. While in use, that resolved directory is bound
 * on `_data` (the Mountpoint dockerd gets), so what containers see is pinned to the checked inode.
 * Remove unbinds and forgets; the user's directory itself is never deleted.
 */
import { mkdir, stat } from 'node:fs/promises';
import { basename, join, normalize } from 'node:path';
import { inRoot, PathNotDirectoryError, reachesDirectory, resolveInRoot, SymlinkLoopError, type RootedPath } from '../../common/kernel/host-root.js';
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

/** Throws `why` (unless undefined) as the refusal of `given`, resolved to `real`, `when`. */
function refuseFor(given: string, real: string, when: string, why: string | undefined): void {
  if (why === undefined) return;
  const via = real === normalize(given) ? '' : ` resolves to "${real}" (through a symlink), which`;
  throw refuse(`path "${given}"${via} is refused ${when}: ${why}`);
}

/**
 * Throws unless host path `real` (what `given` resolved to) may back a volume: the rules by name
 * (directory-rules.ts), then the state directory by identity, which also catches it reached by a path
 * the rules cannot name (a managed plugin's state mount, whose host path is settable).
 */
async function checkPlace({ hostRoot, stateDir }: KindContext, given: string, real: string, when: string): Promise<void> {
  refuseFor(given, real, when, refusalOf(real, stateDir));
  if (await reachesDirectory(hostRoot, real, stateDir)) refuseFor(given, real, when, `it is the suite's state directory (${stateDir} in this process) or under it`);
}

/** {@link resolveInRoot} of the volume's path, its failures (a loop, a file on the way) as `fail` makes them. */
async function resolvePath(hostRoot: string, given: string, fail: (message: string, cause: unknown) => PluginError): Promise<RootedPath> {
  try {
    return await resolveInRoot(hostRoot, given);
  } catch (err) {
    if (err instanceof SymlinkLoopError || err instanceof PathNotDirectoryError) throw fail(err.message, err);
    throw err;
  }
}

/**
 * Resolves `spec.path` (a host path, reached inside the context's `hostRoot`), making it (and
 * parents) when missing and `spec.create` is set, with the spec's owner and mode. Every refused place
 * is checked before anything is made.
 * @returns the resolved host directory and whether it was made now.
 */
async function resolveAtCreate(ctx: KindContext, spec: VolumeSpec): Promise<{ real: string; made: boolean }> {
  const given = spec.path!;
  const invalid = (message: string, cause: unknown) => new InvalidRequestError(message, { cause });
  refuseFor(given, normalize(given), 'at create', refusalOf(normalize(given), ctx.stateDir));
  let found = await resolvePath(ctx.hostRoot, given, invalid);
  let made = false;
  if (found.missing.length > 0) {
    if (!spec.create) throw new InvalidRequestError(`path "${given}" does not exist; make it first or add -o create=true`);
    await checkPlace(ctx, given, join(found.path, ...found.missing), 'at create');
    await mkdir(inRoot(ctx.hostRoot, join(found.path, ...found.missing)), { recursive: true, mode: 0o755 });
    found = await resolvePath(ctx.hostRoot, given, invalid);
    if (found.missing.length > 0) throw new InvalidRequestError(`path "${given}" changed while it was made; try again`);
    made = true;
  }
  const real = found.path;
  await checkPlace(ctx, given, real, 'at create');
  if (!(await stat(inRoot(ctx.hostRoot, real))).isDirectory()) throw new InvalidRequestError(`path "${given}" is not a directory`);
  return { real, made };
}

/**
 * Resolves `spec.path` again and throws unless it is still the directory recorded at Create and
 * still allowed: a symlink or rename since then is refused, never followed.
 * @returns where this process reaches that directory (inside the host root).
 */
async function resolveAtMount(ctx: KindContext, spec: VolumeSpec): Promise<string> {
  const given = spec.path!;
  const found = await resolvePath(ctx.hostRoot, given, (message, cause) => new VolumePathRefusedError(`${message}; refused at mount`, { cause }));
  if (found.missing.length > 0) throw refuse(`path "${given}" no longer exists; make it again or remove the volume`);
  const real = found.path;
  await checkPlace(ctx, given, real, 'at mount');
  if (real !== spec.realPath) {
    throw refuse(`path "${given}" now resolves to "${real}", not "${spec.realPath}" as at create (a symlink or move since then) and is refused at mount; remove the volume and create it again if this is intended`);
  }
  return inRoot(ctx.hostRoot, real);
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
  async prepare(ctx, spec, others) {
    const { host, paths, hostRoot } = ctx;
    const { real, made } = await named(paths.dir, () => resolveAtCreate(ctx, spec));
    const sharing = others().filter((r) => r.spec.type === 'dir' && r.spec.realPath === real);
    const unshared = sharing.filter((r) => !r.spec.shared);
    if (sharing.length > 0 && (!spec.shared || unshared.length > 0)) {
      const names = sharing.map((r) => `"${r.name}"`).join(', ');
      const fix = spec.shared ? `${names} did not set -o shared=true` : 'add -o shared=true to both volumes';
      throw new VolumePathSharedError(`volume "${basename(paths.dir)}": path "${spec.path}" (${real}) already backs volume ${names}; two volumes on one directory need shared=true: ${fix}`);
    }
    if (made) await host.setRoot(inRoot(hostRoot, real), { uid: spec.uid, gid: spec.gid, mode: spec.mode });
    return { ...spec, realPath: real };
  },
  build: async () => undefined,
  async activate(ctx, spec) {
    await ctx.host.bind(await named(ctx.paths.dir, () => resolveAtMount(ctx, spec)), ctx.paths.data);
  },
  release: ({ host, paths }) => host.unmount(paths.data),
  deactivate: ({ host, paths }) => host.unmount(paths.data),
  contentPath: ({ hostRoot }, spec) => inRoot(hostRoot, spec.realPath!),
};
