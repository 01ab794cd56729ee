import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../../common/kernel/exec.js';
import { memberAt, unpackArchive } from './archive-stream.js';

let work = '';
beforeEach(async () => {
  work = await mkdtemp('/tmp/tstest-');
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

const tar = (dir: string, file: string, gzip = false) => run(['tar', gzip ? '-czf' : '-cf', file, '-C', dir, '.'], { object: 'test archive', step: 'pack' });

describe('reading an image archive once', () => {
  it('unpacks tar and gzip members as layers with their digests, keeps small files, follows links', async () => {
    const layer = join(work, 'layer');
    await mkdir(join(layer, 'etc'), { recursive: true });
    await writeFile(join(layer, 'etc', 'hello'), 'hi\n');
    const root = join(work, 'root');
    await mkdir(join(root, 'a'), { recursive: true });
    await tar(layer, join(root, 'a', 'layer.tar'));
    await tar(layer, join(root, 'gz.tar.gz'), true);
    await mkdir(join(root, 'b'));
    await symlink('../a/layer.tar', join(root, 'b', 'layer.tar'));
    await symlink('../../outside', join(root, 'escape'));
    await writeFile(join(root, 'manifest.json'), '[]');
    await writeFile(join(root, 'VERSION'), '1.0');
    await tar(root, join(work, 'archive.tar'));

    let read = 0;
    const members = await unpackArchive(join(work, 'archive.tar'), join(work, 'staging'), (n) => (read += n));
    const plain = await readFile(join(root, 'a', 'layer.tar'));
    const a = memberAt(members, './a/layer.tar');
    expect(a).toMatchObject({ kind: 'layer', diff: createHash('sha256').update(plain).digest('hex'), bytes: plain.length });
    expect(a?.kind === 'layer' && (await readFile(join(a.dir, 'diff', 'etc', 'hello'), 'utf8'))).toBe('hi\n');
    expect(memberAt(members, 'b/layer.tar')).toBe(a);
    const gz = memberAt(members, 'gz.tar.gz');
    expect(gz).toMatchObject({ kind: 'layer', blob: createHash('sha256').update(await readFile(join(root, 'gz.tar.gz'))).digest('hex') });
    expect(gz?.kind === 'layer' && gz.diff).toBe(a?.kind === 'layer' && a.diff);
    expect(memberAt(members, 'manifest.json')).toEqual({ kind: 'file', data: Buffer.from('[]') });
    expect(memberAt(members, 'VERSION')).toEqual({ kind: 'file', data: Buffer.from('1.0') });
    expect(memberAt(members, 'escape')).toBeUndefined();
    expect(read).toBe((await readFile(join(work, 'archive.tar'))).length);
  });

  it('rejects a truncated archive', async () => {
    const root = join(work, 'root');
    await mkdir(root);
    await writeFile(join(root, 'big'), Buffer.alloc(100_000, 1));
    await tar(root, join(work, 'archive.tar'));
    const bytes = await readFile(join(work, 'archive.tar'));
    await writeFile(join(work, 'cut.tar'), bytes.subarray(0, 50_000));
    await expect(unpackArchive(join(work, 'cut.tar'), join(work, 'staging'))).rejects.toThrow();
  });
});
