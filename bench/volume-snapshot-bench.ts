/**
 * Snapshot time of a 1 GiB size-limited tsvol volume image (default: 768 MiB of it written), the
 * way `tsnet volume snapshot` takes it: freeze the mounted ext4, copy the image, thaw. Measured on
 * the host filesystem under /tmp and on an XFS loop filesystem with reflink (xfsprogs is installed
 * if missing), each as `auto` (reflink where possible) and `copy` (forced sparse copy). Needs root; no
 * dockerd. Prints a table (median and max per case), then one JSON line.
 *
 *   npm run bench -- volume-snapshot-bench [rounds=3] [filledMiB=768]
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { copyImageFile, withFrozen } from '../common/kernel/fs-snapshot.js';
import { attachLoop, createSparseFile, detachLoop, ensureLoopFs } from '../common/kernel/loop.js';
import { ensureMount, unmount, unmountUnder } from '../common/kernel/mount.js';
import { ensurePackages, mustRun } from '../testing/system.js';
import { percentile, printTable } from '../testing/measure/stats.js';

const rounds = Number(process.argv[2] ?? 3);
const filledMiB = Number(process.argv[3] ?? 768);
const GiB = 2 ** 30;

/** A 1 GiB volume image under `base`, mounted and filled with `filledMiB` of random data. */
async function filledVolume(base: string): Promise<{ image: string; mnt: string }> {
  const image = join(base, 'disk.ext4');
  const mnt = join(base, 'mnt');
  await ensureLoopFs(image, GiB);
  await mkdir(mnt, { recursive: true });
  await ensureMount({ source: await attachLoop(image), target: mnt, fstype: 'ext4', options: ['nosuid', 'nodev'] });
  await mustRun(['dd', 'if=/dev/urandom', `of=${join(mnt, 'data')}`, 'bs=1M', `count=${filledMiB}`, 'conv=fsync'], { timeoutMs: 600_000 });
  return { image, mnt };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log('snapshot bench skipped: needs root (loop devices, mounts, fsfreeze)');
    return;
  }
  const dir = `/tmp/tstest-${randomBytes(4).toString('hex')}-snapbench`;
  const rows: Array<Record<string, string | number>> = [];
  // util-linux for fsfreeze, xfsprogs for an XFS loop filesystem with reflink (the copy-on-write case).
  await ensurePackages(['util-linux', 'xfsprogs']);
  const backings: Array<{ label: string; base: string; xfs?: string }> = [
    { label: 'host filesystem (/tmp)', base: join(dir, 'host') },
    { label: 'xfs, reflink=1', base: join(dir, 'xfs'), xfs: join(dir, 'xfs.img') },
  ];
  try {
    for (const b of backings) {
      await mkdir(b.base, { recursive: true });
      if (b.xfs) {
        await createSparseFile(b.xfs, 4 * GiB);
        await mustRun(['mkfs.xfs', '-q', '-m', 'reflink=1', b.xfs]);
        await ensureMount({ source: await attachLoop(b.xfs), target: b.base, fstype: 'xfs', options: [] });
      }
      const { image, mnt } = await filledVolume(b.base);
      for (const method of ['auto', 'copy'] as const) {
        const ms: number[] = [];
        let used = '';
        for (let i = 0; i < rounds; i++) {
          const snap = join(b.base, `snap-${method}-${i}.ext4`);
          const t0 = performance.now();
          used = await withFrozen(mnt, () => copyImageFile(image, snap, method));
          ms.push(performance.now() - t0);
          await rm(snap);
        }
        rows.push({ backing: b.label, method, used, n: ms.length, 'p50 ms': percentile(ms, 50), 'max ms': Math.round(Math.max(...ms)) });
      }
      await unmount(mnt);
      await detachLoop(image);
    }
    printTable(`snapshot of a 1 GiB volume with ${filledMiB} MiB written (freeze + copy + thaw)`, rows);
    console.log(JSON.stringify({ bench: 'volume-snapshot', rounds, filledMiB, results: rows }));
  } finally {
    await unmountUnder(dir, { lazy: true });
    for (const b of backings) {
      await detachLoop(join(b.base, 'disk.ext4')).catch(() => undefined);
      if (b.xfs) await detachLoop(b.xfs).catch(() => undefined);
    }
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
