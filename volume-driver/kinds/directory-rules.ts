/**
 * @module Where a directory volume (`-o path=`) may point. Pure: the caller resolves symlinks first
 * and asks again with the result, so a path that reaches a refused place through a symlink is
 * refused too.
 */
import { isUnder } from '../../common/kernel/mount-info.js';

/** Kernel and runtime filesystems: never a volume, nor anything below them. */
export const SYSTEM_DIRS = ['/proc', '/sys', '/dev', '/run'] as const;

/**
 * Why the resolved, absolute directory `real` may not back a volume, or undefined if it may.
 * `stateDir` is the suite's resolved state directory.
 */
export function refusalOf(real: string, stateDir: string): string | undefined {
  if (real === '/') return 'it is the root directory "/"';
  for (const dir of SYSTEM_DIRS) {
    if (isUnder(real, dir)) return `it is ${real === dir ? '' : 'under '}${dir} (kernel and runtime filesystems ${SYSTEM_DIRS.join(', ')} are never volumes)`;
  }
  if (isUnder(real, stateDir)) return `it is ${real === stateDir ? '' : 'under '}the suite's state directory ${stateDir}`;
  if (isUnder(stateDir, real)) return `it contains the suite's state directory ${stateDir}`;
  return undefined;
}
