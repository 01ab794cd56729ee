import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { isRoot } from '../../testing/kernel/netns.js';
import { KernelError } from './errors.js';
import { bindMount, ensureMount, isMountpoint, listMounts, mountOverlay, mountTmpfs, unmount, unmountUnder } from './mount.js';

/** A fresh temp dir (its name has a space, to exercise mountinfo's `\040`), unmounted and removed after the test. */
async function testDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tstest-mnt '));
  onTestFinished(async () => {
    await unmountUnder(dir, { lazy: true });
    // Never rm -r across a mount point: a bind mount would let it delete the source's files.
    if ((await listMounts(dir)).length === 0) await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

describe.skipIf(!isRoot)('mounts (under a temp dir)', () => {
  it('mounts a tmpfs with nosuid,nodev and the options asked, idempotently', async () => {
    const dir = await testDir();
    const target = join(dir, 'vol data');
    expect(await mountTmpfs(target, { size: '8m', mode: 0o750, uid: 1000, gid: 1001, nrInodes: 1000, noexec: true, source: 'tsvol-test' })).toBe(true);
    expect(await mountTmpfs(target, { size: '8m' })).toBe(false);
    const [m, ...rest] = await listMounts(target);
    expect(rest).toEqual([]);
    expect(m?.mountPoint).toBe(target);
    expect(m?.source).toBe('tsvol-test');
    expect(m?.fstype).toBe('tmpfs');
    expect(m?.mountOptions).toEqual(expect.arrayContaining(['nosuid', 'nodev', 'noexec']));
    expect(m?.superOptions).toEqual(expect.arrayContaining(['size=8192k', 'nr_inodes=1000', 'mode=750', 'uid=1000', 'gid=1001']));
    expect((await stat(target)).mode & 0o7777).toBe(0o750);
    expect(await isMountpoint(target)).toBe(true);
    expect(await isMountpoint(dir)).toBe(false);
    expect(await isMountpoint(join(dir, 'missing'))).toBe(false);
  });

  it('unmounts, counting "not mounted" and missing paths as done', async () => {
    const dir = await testDir();
    const target = join(dir, 't');
    await mountTmpfs(target);
    await mountTmpfs(join(target, 'nested'));
    await expect(unmount(target)).rejects.toBeInstanceOf(KernelError); // busy: a mount below it
    expect(await unmountUnder(target)).toBe(2);
    expect(await unmount(target)).toBe(false);
    expect(await unmount(join(dir, 'missing'))).toBe(false);
    expect(await listMounts(dir)).toEqual([]);
  });

  it('refuses to stack a different filesystem on a mount point', async () => {
    const dir = await testDir();
    const target = join(dir, 't');
    await mountTmpfs(target);
    await expect(ensureMount({ source: 'proc', target, fstype: 'proc', options: [] })).rejects.toThrow(/already mounted as tmpfs/);
  });

  it('bind-mounts directories and files, read-only on request, idempotently', async () => {
    const dir = await testDir();
    await mountTmpfs(join(dir, 'src'));
    await writeFile(join(dir, 'src', 'f'), 'hello');
    await mkdir(join(dir, 'src', 'sub'));

    expect(await bindMount(join(dir, 'src', 'sub'), join(dir, 'rw'))).toBe(true);
    expect(await bindMount(join(dir, 'src', 'sub'), join(dir, 'rw'))).toBe(false);
    await writeFile(join(dir, 'rw', 'x'), 'via bind');
    expect(await readFile(join(dir, 'src', 'sub', 'x'), 'utf8')).toBe('via bind');

    expect(await bindMount(join(dir, 'src', 'f'), join(dir, 'file'), { readonly: true })).toBe(true);
    expect(await bindMount(join(dir, 'src', 'f'), join(dir, 'file'), { readonly: true })).toBe(false);
    expect(await readFile(join(dir, 'file'), 'utf8')).toBe('hello');
    await expect(writeFile(join(dir, 'file'), 'no')).rejects.toMatchObject({ code: 'EROFS' });

    // An existing rw bind is made read-only in place rather than stacked.
    expect(await bindMount(join(dir, 'src', 'sub'), join(dir, 'rw'), { readonly: true })).toBe(true);
    await expect(writeFile(join(dir, 'rw', 'y'), 'no')).rejects.toMatchObject({ code: 'EROFS' });
    expect(await listMounts(join(dir, 'rw'))).toHaveLength(1);

    // A different source at the same place is a new bind on top.
    await mkdir(join(dir, 'src', 'other'));
    expect(await bindMount(join(dir, 'src', 'other'), join(dir, 'rw'))).toBe(true);
    expect(await listMounts(join(dir, 'rw'))).toHaveLength(2);

    await expect(bindMount(join(dir, 'nope'), join(dir, 'x'))).rejects.toBeInstanceOf(KernelError);
  });

  it('bind-mounts recursively with rbind', async () => {
    const dir = await testDir();
    await mountTmpfs(join(dir, 'src'));
    await mountTmpfs(join(dir, 'src', 'inner'));
    await writeFile(join(dir, 'src', 'inner', 'f'), 'deep');
    await bindMount(join(dir, 'src'), join(dir, 'plain'));
    await bindMount(join(dir, 'src'), join(dir, 'rec'), { recursive: true });
    await expect(readFile(join(dir, 'plain', 'inner', 'f'), 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readFile(join(dir, 'rec', 'inner', 'f'), 'utf8')).toBe('deep');
  });

  it('mounts an overlay whose writes land in upper, idempotently', async () => {
    const dir = await testDir();
    await mountTmpfs(join(dir, 'fs'));
    const p = (x: string) => join(dir, 'fs', x);
    await mkdir(p('l1'));
    await mkdir(p('l2'));
    await writeFile(p('l1/a'), 'from l1');
    await writeFile(p('l2/a'), 'from l2');
    await writeFile(p('l2/b'), 'only l2');
    const spec = { lower: [p('l1'), p('l2')], upper: p('up'), work: p('work'), target: p('merged') };
    expect(await mountOverlay(spec)).toBe(true);
    expect(await mountOverlay(spec)).toBe(false);
    expect(await readFile(p('merged/a'), 'utf8')).toBe('from l1');
    expect(await readFile(p('merged/b'), 'utf8')).toBe('only l2');
    await writeFile(p('merged/c'), 'new');
    expect(await readFile(p('up/c'), 'utf8')).toBe('new');
    await expect(mountOverlay({ ...spec, upper: p('up2'), work: p('work2') })).rejects.toThrow(/already mounted as overlay/);
    expect(await unmount(p('merged'))).toBe(true);
    expect(await isMountpoint(p('merged'))).toBe(false);
  });
});
