/**
 * @module Consistent copies of a mounted filesystem's image: freeze (FIFREEZE, through `fsfreeze`
 * of util-linux) so every write in flight reaches the image and new ones wait, copy the image
 * (reflink where the host filesystem clones extents, else a sparse copy), thaw. Run through exec.ts.
 */
import { rename, rm } from 'node:fs/promises';
import { CommandError, run } from './exec.js';

/** How {@link copyImageFile} copied: an extent clone (instant) or a byte copy keeping holes. */
export type CopyMethod = 'reflink' | 'sparse copy';

/**
 * Copies `src` to `dst` (replacing it) through `<dst>.part` and a rename, so `dst` is never half
 * written. `method` `auto` clones when the filesystem can and copies otherwise; `copy` always copies.
 */
export async function copyImageFile(src: string, dst: string, method: 'auto' | 'copy' = 'auto'): Promise<CopyMethod> {
  const part = `${dst}.part`;
  const object = `image "${src}" to "${dst}"`;
  let used: CopyMethod = 'sparse copy';
  try {
    if (method === 'auto') {
      try {
        await run(['cp', '--reflink=always', src, part], { object, step: 'clone' });
        used = 'reflink';
      } catch (err) {
        if (!(err instanceof CommandError)) throw err;
      }
    }
    if (used !== 'reflink') await run(['cp', '--reflink=never', '--sparse=always', src, part], { object, step: 'copy' });
    await rename(part, dst);
    return used;
  } finally {
    await rm(part, { force: true });
  }
}

/** Freezes the filesystem mounted at `mountpoint`, runs `fn`, and thaws it whatever `fn` did. */
export async function withFrozen<T>(mountpoint: string, fn: () => Promise<T>): Promise<T> {
  await run(['fsfreeze', '--freeze', mountpoint], { object: `filesystem "${mountpoint}"`, step: 'freeze' });
  try {
    return await fn();
  } finally {
    await thaw(mountpoint);
  }
}

/**
 * Thaws the filesystem at `mountpoint`; one that is not frozen is fine (idempotent: start-up thaws
 * what a killed snapshot may have left frozen).
 */
export async function thaw(mountpoint: string): Promise<void> {
  try {
    await run(['fsfreeze', '--unfreeze', mountpoint], { object: `filesystem "${mountpoint}"`, step: 'thaw' });
  } catch (err) {
    if (err instanceof CommandError && /Invalid argument/.test(err.stderr)) return; // not frozen
    throw err;
  }
}
