/** The tar stream with the system's GNU tar, no root needed: a round trip, refusals, and an archive that tries to escape. */
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run } from './exec.js';
import { createArgs, extractArgs, runTar, TarError } from './tar.js';

const sh = async (argv: string[]) => (await run(argv, { object: argv.join(' '), step: 'run' })).stdout;

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tstest-vol-tar-'));
});

afterEach(() => rm(dir, { recursive: true, force: true }));

async function collect(stream: PassThrough): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('runTar', () => {
  it('carries a tree out and back in, with links and modes', async () => {
    const src = join(dir, 'src');
    await mkdir(join(src, 'sub'), { recursive: true, mode: 0o750 });
    await writeFile(join(src, 'sub', 'f'), 'hello', { mode: 0o640 });
    await symlink('sub/f', join(src, 'link'));
    const out = new PassThrough();
    const archive = collect(out);
    await runTar(createArgs(src), { output: out });
    const dst = join(dir, 'dst');
    await mkdir(dst);
    await runTar(extractArgs(dst), { input: Readable.from([await archive]) });
    expect(await readFile(join(dst, 'link'), 'utf8')).toBe('hello');
    expect((await sh(['find', dst, '-printf', '%P %m %y\n'])).split('\n').sort()).toEqual(
      (await sh(['find', src, '-printf', '%P %m %y\n'])).split('\n').sort(),
    );
  });

  it('fails with tar\'s message on input that is not an archive', async () => {
    const err = await runTar(extractArgs(dir), { input: Readable.from([Buffer.from('not a tar file at all'.repeat(40))]) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TarError);
    expect((err as Error).message).toMatch(/tar exited with 2: .*(not look like a tar archive|Exiting with failure)/);
  });

  it('writes nothing outside the target, whatever the archive says', async () => {
    // An archive with a symlink to a directory outside, then a file "through" it, then a ../ member.
    const outside = join(dir, 'outside');
    const stage = join(dir, 'stage');
    await mkdir(outside);
    await mkdir(join(stage, 'a'), { recursive: true });
    await symlink(outside, join(stage, 'a', 'evil'));
    const other = join(dir, 'other');
    await mkdir(join(other, 'a', 'evil'), { recursive: true });
    await writeFile(join(other, 'a', 'evil', 'pwned'), 'x');
    const archive = join(dir, 'evil.tar');
    await sh(['tar', '-cf', archive, '-C', stage, 'a']);
    await sh(['tar', '-rf', archive, '-C', other, 'a/evil/pwned']);
    await sh(['tar', '-rf', archive, '-C', other, '--transform', 's,^a/evil/pwned,../escaped,', 'a/evil/pwned']);
    const dst = join(dir, 'dst');
    await mkdir(dst);
    await runTar(extractArgs(dst), { input: Readable.from([await readFile(archive)]) }).catch(() => undefined);
    expect(await readdir(outside)).toEqual([]);
    expect(await readdir(dir)).not.toContain('escaped');
  });
});
