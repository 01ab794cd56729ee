/**
 * @module `image load` against the real kernel without dockerd: docker save archives built here from
 * directories (whiteouts and an opaque directory included) are loaded into a throwaway state
 * directory and their layers mounted as overlay to read the merged view; shared layers, `image rm`,
 * and corrupt or truncated archives (refused, nothing left) are checked on the store itself.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../common/kernel/exec.js';
import { mountOverlay, unmountUnder } from '../../common/kernel/mount.js';
import { State } from '../state/store.js';
import { removeImage } from './images.js';
import { lowerDirs } from './layers.js';
import { loadImages } from './load.js';
import { refusal } from '../../testing/refusal.js';

let work: string;
let state: State;
const progress = process.stderr;

beforeAll(async () => {
  work = await mkdtemp('/tmp/tstest-');
  state = await State.open(join(work, 'state'));
});

afterAll(async () => {
  await unmountUnder(work);
  await rm(work, { recursive: true, force: true });
});

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** Files of a layer: path → content (`null` makes a directory). */
type Layer = Record<string, string | null>;

/** Builds a docker save tarball of one image per entry of `images` (layers bottom first). */
async function saveArchive(name: string, images: { tag: string; layers: Layer[]; env?: string[] }[]): Promise<string> {
  const root = join(work, `${name}.d`);
  await mkdir(root, { recursive: true });
  const manifest = [];
  for (const image of images) {
    const paths: string[] = [];
    const diffIds: string[] = [];
    for (const files of image.layers) {
      const dir = await mkdtemp(join(work, 'layer-'));
      for (const [p, content] of Object.entries(files)) {
        if (content === null) await mkdir(join(dir, p), { recursive: true });
        else {
          await mkdir(join(dir, p, '..'), { recursive: true });
          await writeFile(join(dir, p), content);
        }
      }
      const tarFile = join(work, 'layer.tar');
      await run(['tar', '--numeric-owner', '--sort=name', '--mtime=@0', '-C', dir, '-cf', tarFile, '.'], { object: 'test layer', step: 'pack' });
      const tar = await readFile(tarFile);
      const id = sha(tar);
      await mkdir(join(root, id), { recursive: true });
      await writeFile(join(root, id, 'layer.tar'), tar);
      paths.push(`${id}/layer.tar`);
      diffIds.push(`sha256:${id}`);
      await rm(dir, { recursive: true });
    }
    const config = JSON.stringify({ config: { Env: image.env ?? ['PATH=/bin'], Cmd: ['sh'], WorkingDir: '/w' }, rootfs: { type: 'layers', diff_ids: diffIds } });
    await writeFile(join(root, `${sha(config)}.json`), config);
    manifest.push({ Config: `${sha(config)}.json`, RepoTags: [image.tag], Layers: paths });
  }
  await writeFile(join(root, 'manifest.json'), JSON.stringify(manifest));
  const file = join(work, `${name}.tar`);
  await run(['tar', '-C', root, '-cf', file, '.'], { object: 'test archive', step: 'pack' });
  return file;
}

/** Every path below `dir` with its content (directories as `/`), sorted. */
async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const p = join(e.parentPath, e.name);
    const rel = p.slice(dir.length);
    out.push(e.isDirectory() ? `${rel}/` : `${rel}=${await readFile(p, 'utf8')}`);
  }
  return out.sort();
}

const BASE: Layer = { 'bin/tool': 'base tool', 'etc/conf': 'base conf' };
const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)('image load (docker save archives)', () => {
  it('stacks layers with whiteouts and an opaque directory as overlay shows them', async () => {
    const file = await saveArchive('stack', [
      {
        tag: 'tstest/stack:1',
        layers: [
          BASE,
          { 'data/a': 'v1', 'data/b': 'v1', 'data/opq/old': 'old', 'data/gone': 'x' },
          { 'data/a': 'v2', 'data/.wh.gone': '' },
          { 'data/.wh.a': '', 'data/opq/.wh..wh..opq': '', 'data/opq/new': 'new' },
        ],
      },
    ]);
    const { images, layersAdded } = await loadImages(state, file, { progress });
    expect(layersAdded).toBe(4);
    const image = images[0]!;
    expect(image.name).toBe('tstest/stack:1');
    expect(image.config).toEqual({ env: ['PATH=/bin'], cmd: ['sh'], workdir: '/w' });
    const target = join(work, 'merged');
    await mountOverlay({ lower: lowerDirs(state, image), upper: join(work, 'upper'), work: join(work, 'ovl-work'), target });
    expect(await tree(target)).toEqual(['/bin/', '/bin/tool=base tool', '/data/', '/data/b=v1', '/data/opq/', '/data/opq/new=new', '/etc/', '/etc/conf=base conf']);
    await unmountUnder(target);
  });

  it('stores a base shared by two images once and frees only unshared layers on rm', async () => {
    const file = await saveArchive('shared', [
      { tag: 'tstest/one:1', layers: [BASE, { one: '1' }] },
      { tag: 'tstest/two:1', layers: [BASE, { two: '2' }] },
    ]);
    const before = (await state.layers.list()).length;
    const { images, layersAdded, layersReused } = await loadImages(state, file, { progress });
    expect([layersAdded, layersReused]).toEqual([2, 1]); // BASE is in the store from the first test
    expect((await state.layers.list()).length).toBe(before + 2);
    const baseId = images[0]!.layers![0]!;
    expect(images[1]!.layers![0]).toBe(baseId);
    await removeImage(state, 'tstest/one:1');
    expect(await state.layers.get(images[0]!.layers![1]!)).toBeUndefined();
    expect(await state.layers.get(baseId)).toBeDefined();
    await removeImage(state, 'tstest/stack:1');
    await removeImage(state, 'tstest/two:1');
    expect(await state.layers.list()).toEqual([]);
    expect(await readdir(state.layers.dir)).toEqual([]);
    expect(await readdir(join(state.dir, 'l'))).toEqual([]);
  });

  it('refuses a corrupt or truncated archive and leaves nothing behind', async () => {
    const file = await saveArchive('bad', [{ tag: 'tstest/bad:1', layers: [BASE, { big: 'y'.repeat(100_000) }] }]);
    const snapshot = async () => ({ images: await readdir(state.images.dir), layers: await readdir(state.layers.dir), links: await readdir(join(state.dir, 'l')) });
    const clean = await snapshot();
    // Flip one byte inside the second layer's file content.
    const bytes = await readFile(file);
    const at = bytes.indexOf('y'.repeat(1000));
    bytes[at + 500] = 'z'.charCodeAt(0);
    await writeFile(join(work, 'corrupt.tar'), bytes);
    await expect(loadImages(state, join(work, 'corrupt.tar'), { progress })).rejects.toThrow(refusal('ERR_INVALID_ARGUMENT', /has diff ID sha256:[0-9a-f]{64}, the config says sha256:[0-9a-f]{64}: archive corrupt/));
    expect(await snapshot()).toEqual(clean);
    await truncate(file, Math.floor((await stat(file)).size / 2));
    await expect(loadImages(state, file, { progress })).rejects.toThrow(refusal('ERR_INVALID_ARGUMENT', /not a readable tar archive \(truncated or corrupt\?\)|is missing/));
    expect(await snapshot()).toEqual(clean);
    const evil = join(work, 'evil.d');
    await mkdir(evil);
    await symlink('/etc/passwd', join(evil, 'config.json'));
    await writeFile(join(evil, 'manifest.json'), JSON.stringify([{ Config: 'config.json', RepoTags: ['tstest/evil:1'], Layers: [] }]));
    await expect(loadImages(state, evil, { progress })).rejects.toThrow(refusal('ERR_INVALID_ARGUMENT', 'path "config.json" leads out of the archive'));
    await writeFile(join(work, 'junk.tar'), 'not an archive');
    await expect(loadImages(state, join(work, 'junk.tar'), { progress })).rejects.toThrow(refusal('ERR_INVALID_ARGUMENT', 'not a readable tar archive'));
    expect(await snapshot()).toEqual(clean);
  });
});
