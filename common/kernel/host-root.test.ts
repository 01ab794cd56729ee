/**
 * {@link resolveInRoot} and {@link reachesDirectory} on a temporary directory standing for the host's
 * root: absolute and relative links, `..` (never above the root), a link pointing outside, loops,
 * missing tail components, and identity by device and inode. No root needed.
 */
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_SYMLINKS, PathNotDirectoryError, SymlinkLoopError, reachesDirectory, resolveInRoot } from './host-root.js';

let root: string;

beforeEach(async () => {
  root = await realpath(await mkdtemp(join(tmpdir(), 'tstest-hostroot-')));
  await mkdir(join(root, 'srv/data/sub'), { recursive: true });
  await mkdir(join(root, 'etc'));
  await writeFile(join(root, 'srv/file'), 'x');
});

afterEach(() => rm(root, { recursive: true, force: true }));

describe('resolveInRoot', () => {
  it('resolves plain paths, . and .. without links', async () => {
    expect(await resolveInRoot(root, '/srv/data')).toEqual({ path: '/srv/data', missing: [] });
    expect(await resolveInRoot(root, '/srv/./data/sub/..//')).toEqual({ path: '/srv/data', missing: [] });
    expect(await resolveInRoot(root, '/')).toEqual({ path: '/', missing: [] });
  });

  it('never climbs above the root with ..', async () => {
    expect(await resolveInRoot(root, '/../../srv/../../etc')).toEqual({ path: '/etc', missing: [] });
  });

  it('starts an absolute link target again at the root', async () => {
    await symlink('/srv/data', join(root, 'data'));
    expect(await resolveInRoot(root, '/data/sub')).toEqual({ path: '/srv/data/sub', missing: [] });
  });

  it('follows a relative link from the directory holding it, and .. after it from the target', async () => {
    await symlink('../srv/data/sub', join(root, 'etc/s'));
    expect(await resolveInRoot(root, '/etc/s')).toEqual({ path: '/srv/data/sub', missing: [] });
    // `..` after a link is taken in the target's parent, as the kernel does (not lexically: /etc).
    expect(await resolveInRoot(root, '/etc/s/..')).toEqual({ path: '/srv/data', missing: [] });
  });

  it('keeps a link pointing outside the root inside it', async () => {
    // This process's /proc and /etc exist; inside the root they are the root's own (/etc) or missing (/proc).
    await symlink('/proc/self', join(root, 'p'));
    expect(await resolveInRoot(root, '/p')).toEqual({ path: '/', missing: ['proc', 'self'] });
    await symlink('../../../../../../../etc', join(root, 'srv/up'));
    expect(await resolveInRoot(root, '/srv/up')).toEqual({ path: '/etc', missing: [] });
    // The root's own path, outside: missing inside the root, never the real directory.
    await symlink(root, join(root, 'out'));
    expect(await resolveInRoot(root, '/out/srv')).toEqual({ path: '/', missing: [...root.split('/').filter(Boolean), 'srv'] });
  });

  it('reports missing tail components, tidied as mkdir -p would make them', async () => {
    expect(await resolveInRoot(root, '/srv/data/a/b')).toEqual({ path: '/srv/data', missing: ['a', 'b'] });
    expect(await resolveInRoot(root, '/srv/data/a/../b/./c')).toEqual({ path: '/srv/data', missing: ['b', 'c'] });
    expect(await resolveInRoot(root, '/srv/data/a/../../x')).toEqual({ path: '/srv', missing: ['x'] });
    await symlink('/srv/nothing/yet', join(root, 'dangling'));
    expect(await resolveInRoot(root, '/dangling/more')).toEqual({ path: '/srv', missing: ['nothing', 'yet', 'more'] });
  });

  it(`fails on a loop after ${MAX_SYMLINKS} links, and follows a chain of ${MAX_SYMLINKS}`, async () => {
    await symlink('/b', join(root, 'a'));
    await symlink('a', join(root, 'b'));
    await expect(resolveInRoot(root, '/a/x')).rejects.toBeInstanceOf(SymlinkLoopError);
    await expect(resolveInRoot(root, '/a')).rejects.toMatchObject({ code: 'ERR_SYMLINK_LOOP' });
    for (let i = 1; i < MAX_SYMLINKS; i++) await symlink(`/l${i + 1}`, join(root, `l${i}`));
    await symlink('/srv/data', join(root, `l${MAX_SYMLINKS}`));
    expect(await resolveInRoot(root, '/l1')).toEqual({ path: '/srv/data', missing: [] });
    await symlink('/l1', join(root, 'l0'));
    await expect(resolveInRoot(root, '/l0')).rejects.toBeInstanceOf(SymlinkLoopError);
  });

  it('fails where a file stands for a directory, and accepts a file as the last component', async () => {
    const err = await resolveInRoot(root, '/srv/file/x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PathNotDirectoryError);
    expect(err).toMatchObject({ code: 'ERR_PATH_NOT_DIRECTORY', component: '/srv/file' });
    expect(await resolveInRoot(root, '/srv/file')).toEqual({ path: '/srv/file', missing: [] });
  });

  it('is realpath when the root is /', async () => {
    await symlink(join(root, 'srv/data'), join(root, 'abs'));
    expect(await resolveInRoot('/', join(root, 'abs/sub'))).toEqual({ path: join(root, 'srv/data/sub'), missing: [] });
  });
});

describe('reachesDirectory', () => {
  it('tells a directory and what is below it by identity, whatever path reaches it', async () => {
    // The directory as another path sees it: here a symlink outside the root (a bind mount in the plugin).
    const elsewhere = join(await realpath(tmpdir()), `tstest-hostroot-state-${process.pid}`);
    await symlink(join(root, 'srv/data'), elsewhere);
    try {
      expect(await reachesDirectory(root, '/srv/data', elsewhere)).toBe(true);
      expect(await reachesDirectory(root, '/srv/data/sub', elsewhere)).toBe(true);
      expect(await reachesDirectory(root, '/srv/data/sub/missing/deeper', elsewhere)).toBe(true);
      expect(await reachesDirectory(root, '/srv', elsewhere)).toBe(false);
      expect(await reachesDirectory(root, '/etc', elsewhere)).toBe(false);
    } finally {
      await rm(elsewhere);
    }
  });
});
