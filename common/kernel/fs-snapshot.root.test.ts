/**
 * Freeze, copy and thaw on a real loop-mounted ext4 (root): a write waits while the filesystem is
 * frozen, the copy holds everything written before the freeze and keeps holes, thaw is idempotent.
 * Everything lives in a fresh `/tmp/tstest-fsnap-…`, unmounted and detached after each test.
 */
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { isRoot } from '../../testing/kernel/netns.js';
import { copyImageFile, thaw, withFrozen } from './fs-snapshot.js';
import { attachLoop, detachLoop, ensureLoopFs } from './loop.js';
import { ensureMount, listMounts, unmount, unmountUnder } from './mount.js';

const MiB = 2 ** 20;

async function mountedImage(): Promise<{ dir: string; image: string; mnt: string }> {
  const dir = await mkdtemp('/tmp/tstest-fsnap-');
  const image = join(dir, 'disk.ext4');
  const mnt = join(dir, 'mnt');
  onTestFinished(async () => {
    await thaw(mnt).catch(() => undefined);
    await unmountUnder(dir, { lazy: true });
    await detachLoop(image);
    await detachLoop(join(dir, 'copy.ext4'));
    if ((await listMounts(dir)).length === 0) await rm(dir, { recursive: true, force: true });
  });
  await ensureLoopFs(image, 64 * MiB);
  await mkdir(mnt);
  await ensureMount({ source: await attachLoop(image), target: mnt, fstype: 'ext4', options: ['nosuid', 'nodev'] });
  return { dir, image, mnt };
}

describe.skipIf(!isRoot)('freeze, copy, thaw (common/kernel/fs-snapshot.ts)', () => {
  it('holds writes while frozen and copies a consistent, sparse image', async () => {
    const { dir, image, mnt } = await mountedImage();
    await writeFile(join(mnt, 'before'), 'written before the freeze');
    let wroteAt = 0;
    let copiedAt = 0;
    const method = await withFrozen(mnt, async () => {
      void writeFile(join(mnt, 'during'), 'x').then(() => (wroteAt = Date.now()));
      await new Promise((r) => setTimeout(r, 300));
      const m = await copyImageFile(image, join(dir, 'copy.ext4'));
      copiedAt = Date.now();
      return m;
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(wroteAt).toBeGreaterThanOrEqual(copiedAt);
    expect(['reflink', 'sparse copy']).toContain(method);
    const copy = await stat(join(dir, 'copy.ext4'));
    expect(copy.size).toBe((await stat(image)).size);
    expect(copy.blocks * 512).toBeLessThan(32 * MiB);
    const cmnt = join(dir, 'cmnt');
    await mkdir(cmnt);
    await ensureMount({ source: await attachLoop(join(dir, 'copy.ext4')), target: cmnt, fstype: 'ext4', options: ['nosuid', 'nodev'] });
    expect(await readFile(join(cmnt, 'before'), 'utf8')).toBe('written before the freeze');
    await expect(stat(join(cmnt, 'during'))).rejects.toMatchObject({ code: 'ENOENT' });
    await unmount(cmnt);
  });

  it('forces a byte copy with method copy, and thaws what is not frozen without error', async () => {
    const { dir, image, mnt } = await mountedImage();
    expect(await copyImageFile(image, join(dir, 'copy.ext4'), 'copy')).toBe('sparse copy');
    await thaw(mnt);
    await thaw(mnt);
    await writeFile(join(mnt, 'after'), 'ok');
  });
});
