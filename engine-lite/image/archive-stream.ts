/**
 * @module Reading an image archive (a `docker save` or OCI layout tar, plain or gzip) in one pass
 * with each layer written to disk once: every member that is itself a tar (or gzip) is unpacked
 * straight into a staging directory as it streams by, hashed on the way (blob digest, diff ID) by
 * tar-stream.ts; small other members (manifests, configs) are kept in memory; symlinks (docker save
 * links a repeated layer to its first copy) are kept as paths. The caller checks the digests
 * against the manifest read at the end and drops what does not belong.
 */
import { mkdir } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { posix } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extract, type Headers } from 'tar-stream';
import { extractTar } from '../../common/kernel/layer-fs.js';
import { isGzip, hashTar, type TarDigests } from './tar-stream.js';

/** The largest member kept in memory (manifests and configs are a few KiB). */
const MAX_METADATA = 16 * 1024 * 1024;

/** A member of the archive as {@link unpackArchive} left it. */
export type ArchiveMember =
  /** A layer unpacked into `dir/diff`. */
  | ({ kind: 'layer'; dir: string } & TarDigests)
  | { kind: 'file'; data: Buffer }
  /** A symlink, its target resolved to an archive path (undefined when it leads out). */
  | { kind: 'link'; target: string | undefined }
  /** A large member that is no tar: not kept. */
  | { kind: 'skipped' };

/** An archive path without `./`, leading or trailing slashes. */
export const archivePath = (name: string) => posix.normalize(name).replace(/^(\.\/)+|^\/+|\/+$/g, '');

/** Whether a member's first bytes (up to 512) start a gzip stream or a tar (ustar magic, or an all-zero end block). */
function looksLikeTar(head: Buffer, size: number): 'gzip' | 'tar' | undefined {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 263 && head.subarray(257, 262).toString('latin1') === 'ustar') return 'tar';
  if (size >= 1024 && head.length === 512 && head.every((b) => b === 0)) return 'tar';
  return undefined;
}

/** Reads up to `n` bytes from the start of `it`, returning them and the rest of the stream. */
async function head(it: AsyncIterator<Buffer>, n: number): Promise<{ first: Buffer; rest: Readable }> {
  const parts: Buffer[] = [];
  let got = 0;
  let done = false;
  while (got < n) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    parts.push(r.value);
    got += r.value.length;
  }
  const all = Buffer.concat(parts);
  async function* rest() {
    if (all.length > 0) yield all;
    if (done) return;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
  }
  return { first: all.subarray(0, n), rest: Readable.from(rest(), { objectMode: false }) };
}

/**
 * Streams the archive file `file` once, unpacking every tar member into `stagingDir/<n>/diff`.
 * `onChunk` gets the archive's byte counts as they are read. Resolves with the members by archive path.
 * @throws the tar parser's, gunzip's or tar's error for a truncated or corrupt archive or layer.
 */
export async function unpackArchive(file: string, stagingDir: string, onChunk?: (n: number) => void): Promise<Map<string, ArchiveMember>> {
  const members = new Map<string, ArchiveMember>();
  const parser = extract();
  const gzip = await isGzip(file);
  const source = createReadStream(file);
  // Counted by a listener added in the same tick as the pipeline: no chunk flows before both are in place.
  if (onChunk) source.on('data', (c) => onChunk(c.length));
  const feeding = pipeline([source, ...(gzip ? [createGunzip()] : []), parser]);
  const reading = (async () => {
    let n = 0;
    for await (const entry of parser) {
      const h: Headers = entry.header;
      const path = archivePath(h.name);
      if (h.type === 'symlink' && h.linkname != null) {
        const target = archivePath(posix.join(posix.dirname(path), h.linkname));
        members.set(path, { kind: 'link', target: h.linkname.startsWith('/') || target.startsWith('..') ? undefined : target });
      } else if (h.type === 'link' && h.linkname != null) {
        members.set(path, { kind: 'link', target: archivePath(h.linkname) });
      }
      if (h.type !== 'file' && h.type !== 'contiguous-file') {
        entry.resume();
        continue;
      }
      const size = h.size ?? 0;
      const { first, rest } = await head(entry[Symbol.asyncIterator](), 512);
      const kind = looksLikeTar(first, size);
      if (kind) {
        const dir = `${stagingDir}/${n++}`;
        await mkdir(`${dir}/diff`, { recursive: true, mode: 0o755 });
        const digests = await hashTar(rest, kind === 'gzip', (tar) => extractTar(tar, `${dir}/diff`, `layer ${path}`));
        members.set(path, { kind: 'layer', dir, ...digests });
      } else if (size <= MAX_METADATA) {
        const parts: Buffer[] = [];
        for await (const c of rest) parts.push(c as Buffer);
        members.set(path, { kind: 'file', data: Buffer.concat(parts) });
      } else {
        await pipeline(rest, new Writable({ write: (_c, _e, done) => done() }));
        members.set(path, { kind: 'skipped' });
      }
    }
  })();
  await Promise.all([feeding, reading]);
  return members;
}

/** The member `path` names, following links (at most 40). */
export function memberAt(members: ReadonlyMap<string, ArchiveMember>, path: string): ArchiveMember | undefined {
  let p: string | undefined = archivePath(path);
  for (let hops = 0; p !== undefined && hops < 40; hops++) {
    const m = members.get(p);
    if (m?.kind !== 'link') return m;
    p = m.target;
  }
  return undefined;
}
