/**
 * @module `engine-lite image import`: a root filesystem tarball (`docker export` style, plain or
 * gzip), unpacked by GNU tar (common/kernel/layer-fs.ts) into the state directory with a progress
 * bar on a terminal, or a directory used in place by reference (nothing is copied; it must not
 * change while containers use it). `--change` sets CMD, ENTRYPOINT, ENV and WORKDIR, as `docker import --change` does.
 */
import { createHash, randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, realpath, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ProgressBar } from '../../common/cli/progress.js';
import { extractTar } from '../../common/kernel/layer-fs.js';
import { overlayOptions } from '../../common/kernel/mount-info.js';
import { EngineError, InvalidArgumentError } from '../errors.js';
import type { ImageConfig, ImageRecord } from '../state/records.js';
import type { State } from '../state/store.js';
import { normalizeImageName } from './images.js';
import { renderBar } from './progress.js';
import { streamTar } from './tar-stream.js';

/** Options of {@link importImage}. */
export interface ImportOptions {
  /** `--change` instructions (`CMD ["sh"]`, `ENV A=b`, …). */
  changes: string[];
  /** Where to draw the progress bar (drawn only on a TTY). */
  progress: NodeJS.WriteStream;
}

/** Parses a Dockerfile-style command: JSON array (exec form) or text (shell form, run by /bin/sh -c). */
function parseCommand(instr: string, rest: string): string[] {
  if (rest.startsWith('[')) {
    let v: unknown;
    try {
      v = JSON.parse(rest);
    } catch {
      throw new InvalidArgumentError(`--change "${instr} ${rest}": not a valid JSON array`);
    }
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new InvalidArgumentError(`--change "${instr} ${rest}": must be an array of strings`);
    return v;
  }
  return ['/bin/sh', '-c', rest];
}

/**
 * Applies `--change` instructions to an image config. Pure.
 * @throws InvalidArgumentError for instructions engine-lite does not support or cannot parse.
 */
export function applyChanges(changes: readonly string[]): ImageConfig {
  const config: ImageConfig = {};
  for (const change of changes) {
    const m = /^\s*(\w+)\s+(.*\S)\s*$/s.exec(change);
    const instr = m?.[1]?.toUpperCase();
    const rest = m?.[2] ?? '';
    switch (instr) {
      case 'CMD':
        config.cmd = parseCommand(instr, rest);
        break;
      case 'ENTRYPOINT':
        config.entrypoint = parseCommand(instr, rest);
        break;
      case 'WORKDIR':
        if (!rest.startsWith('/')) throw new InvalidArgumentError(`--change "WORKDIR ${rest}": must be an absolute path`);
        config.workdir = rest;
        break;
      case 'ENV': {
        const pairs = rest.includes('=') ? rest.split(/\s+/) : [rest.replace(/\s+/, '=')];
        for (const p of pairs) if (!/^[^=\s]+=/.test(p)) throw new InvalidArgumentError(`--change "ENV ${rest}": expected KEY=value`);
        const keys = new Set(pairs.map((p) => p.split('=')[0]));
        config.env = [...(config.env ?? []).filter((e) => !keys.has(e.split('=')[0])), ...pairs];
        break;
      }
      default:
        throw new InvalidArgumentError(`--change "${change}": unsupported instruction (engine-lite supports CMD, ENTRYPOINT, ENV, WORKDIR)`);
    }
  }
  return config;
}

/** Total size of the regular files below `dir` (symlinks not followed). */
async function treeSize(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += await treeSize(p);
    else if (e.isFile()) total += (await lstat(p)).size;
  }
  return total;
}

/**
 * Imports `source` (a tar file or a directory) as image `name`. An existing image of that name keeps
 * its content but loses the name, as with docker.
 * @throws InvalidArgumentError for a bad name or `--change`; EngineError when the source cannot be read.
 */
export async function importImage(state: State, source: string, name: string, opts: ImportOptions): Promise<ImageRecord> {
  const fullName = normalizeImageName(name);
  const config = applyChanges(opts.changes);
  const st = await stat(source).catch(() => {
    throw new InvalidArgumentError(`${source}: no such file or directory`);
  });
  let record: ImageRecord;
  const created = new Date().toISOString();
  if (st.isDirectory()) {
    const rootfs = await realpath(source);
    overlayOptions([rootfs], rootfs, rootfs); // refuses paths overlayfs options cannot carry
    const id = createHash('sha256').update(`${rootfs}\0${randomBytes(16).toString('hex')}`).digest('hex');
    record = { v: 1, id, name: fullName, created, rootfs, owned: false, size: await treeSize(rootfs), config };
  } else {
    const tmp = state.stagingDir('import');
    try {
      await mkdir(join(tmp, 'rootfs'), { recursive: true, mode: 0o755 });
      const bar = new ProgressBar(opts.progress, (done) => renderBar('Importing', done, st.size));
      const { blob: digest, bytes } = await streamTar(source, (tar) => extractTar(tar, join(tmp, 'rootfs'), `archive "${source}"`), (n) => bar.advance(n)).catch((err: Error) => {
        throw new EngineError(`importing ${source}: ${err.message}`, { cause: err });
      });
      bar.finish();
      const dir = state.imageDir(digest);
      const existing = await state.images.get(digest);
      if (!existing) {
        await rm(dir, { recursive: true, force: true });
        await rename(tmp, dir);
      }
      record = { v: 1, id: digest, name: fullName, created: existing?.created ?? created, rootfs: join(dir, 'rootfs'), owned: true, size: bytes, config };
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }
  await state.lock.run(async () => {
    for (const other of await state.images.list()) {
      if (other.name === fullName && other.id !== record.id) await state.images.put(other.id, { ...other, name: '' });
    }
    await state.images.put(record.id, record);
  });
  return record;
}
