/**
 * @module Paths of the host seen through a directory that holds the host's root filesystem (a
 * managed plugin sees the host's `/` at `/host`, `tsnet serve --host-root`). {@link resolveInRoot}
 * resolves a host path the way the host's kernel would, as if chrooted there: an absolute symlink
 * target starts again at the root, `..` never climbs above it, at most {@link MAX_SYMLINKS} links are
 * followed. {@link reachesDirectory} tells by device and inode whether a path is a given directory or
 * below it, where the directory's own path on the host is unknown (a bind mount of it).
 */
import { lstat, readlink, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Symlinks one lookup may follow before it fails as a loop: the kernel's MAXSYMLINKS. */
export const MAX_SYMLINKS = 40;

/** A lookup followed more than {@link MAX_SYMLINKS} symlinks (the kernel's ELOOP). */
export class SymlinkLoopError extends Error {
  readonly code = 'ERR_SYMLINK_LOOP';
  constructor(readonly path: string) {
    super(`path "${path}" follows more than ${MAX_SYMLINKS} symbolic links (a loop?)`);
    this.name = 'SymlinkLoopError';
  }
}

/** A component of a path, other than its last, is neither a directory nor a symlink to one (ENOTDIR). */
export class PathNotDirectoryError extends Error {
  readonly code = 'ERR_PATH_NOT_DIRECTORY';
  constructor(
    readonly path: string,
    readonly component: string,
  ) {
    super(`path "${path}": "${component}" is not a directory`);
    this.name = 'PathNotDirectoryError';
  }
}

/** A host path resolved inside a root. */
export interface RootedPath {
  /** The deepest part that exists, as a host path: absolute, normal, free of symlinks. */
  path: string;
  /** Components below `path` that do not exist, in order (empty: the whole path exists). */
  missing: string[];
}

/** Where host path `hostPath` is reached from this process: `root` + `hostPath`. */
export const inRoot = (root: string, hostPath: string): string => join(root, hostPath);

const componentsOf = (path: string) => path.split('/').filter((c) => c !== '' && c !== '.');

/**
 * Resolves host path `path` (absolute) inside `root` as the host would: symlinks followed (an
 * absolute target from `root` again), `..` taken after the link it follows is resolved and stopped
 * at `/`. Below the first missing component the rest is only tidied (`..` drops a missing
 * component), as `mkdir -p` would make it.
 * @throws SymlinkLoopError past {@link MAX_SYMLINKS} links; PathNotDirectoryError when a file stands where a directory must.
 */
export async function resolveInRoot(root: string, path: string): Promise<RootedPath> {
  let resolved: string[] = [];
  const missing: string[] = [];
  /** Components still to walk, the next one last. */
  const todo = componentsOf(path).reverse();
  let links = 0;
  while (todo.length > 0) {
    const c = todo.pop()!;
    if (c === '..') {
      if (missing.length > 0) missing.pop();
      else resolved.pop();
      continue;
    }
    if (missing.length > 0) {
      missing.push(c);
      continue;
    }
    const here = inRoot(root, `/${[...resolved, c].join('/')}`);
    const st = await lstat(here).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (st === undefined) {
      missing.push(c);
    } else if (st.isSymbolicLink()) {
      if (++links > MAX_SYMLINKS) throw new SymlinkLoopError(path);
      const target = await readlink(here);
      if (target.startsWith('/')) resolved = [];
      todo.push(...componentsOf(target).reverse());
    } else if (!st.isDirectory() && todo.length > 0) {
      throw new PathNotDirectoryError(path, `/${[...resolved, c].join('/')}`);
    } else {
      resolved.push(c);
    }
  }
  return { path: `/${resolved.join('/')}`, missing };
}

/**
 * Whether host path `path` (resolved, inside `root`) is directory `dir` or below it, told by device
 * and inode: walking up from `path` to `/`, some directory is `dir` itself (or a bind mount of it).
 * Parts of `path` that do not exist are skipped.
 */
export async function reachesDirectory(root: string, path: string, dir: string): Promise<boolean> {
  const want = await stat(dir, { bigint: true });
  for (let p = path; ; p = dirname(p)) {
    const st = await stat(inRoot(root, p), { bigint: true }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (st !== undefined && st.dev === want.dev && st.ino === want.ino) return true;
    if (p === '/') return false;
  }
}
