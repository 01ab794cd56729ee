/**
 * @module Reading a tar file, plain or gzip, once: hashed as stored and as uncompressed tar while it
 * flows into whatever unpacks it (image import, layer load).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';

/** Whether the file starts with gzip's magic bytes. */
export async function isGzip(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(2), 0, 2, 0);
    return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

/** A pass-through that hashes (sha256) and counts what flows through it. */
function digester(onChunk?: (n: number) => void): Transform & { result(): { digest: string; bytes: number } } {
  const hash = createHash('sha256');
  let bytes = 0;
  const t = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      bytes += chunk.length;
      onChunk?.(chunk.length);
      done(null, chunk);
    },
  });
  return Object.assign(t, { result: () => ({ digest: hash.digest('hex'), bytes }) });
}

/**
 * Streams the tar file `file` (plain or gzip) once into `sink` (e.g. tar -x), hashing the file and
 * the uncompressed tar; `onChunk` gets the file's byte counts as they are read (a progress bar).
 * Resolves with both digests (hex sha256) and the uncompressed size.
 */
export async function streamTar(file: string, sink: (tar: Readable) => Promise<void>, onChunk?: (n: number) => void): Promise<TarDigests> {
  return hashTar(createReadStream(file), await isGzip(file), sink, onChunk);
}

/** Digests of a (maybe compressed) tar: of the bytes as stored, of the uncompressed tar, and its size. */
export interface TarDigests {
  blob: string;
  diff: string;
  bytes: number;
}

/** {@link streamTar} of the stream `input`, gzip-compressed when `gzip`. */
export async function hashTar(input: Readable, gzip: boolean, sink: (tar: Readable) => Promise<void>, onChunk?: (n: number) => void): Promise<TarDigests> {
  const blob = digester(onChunk);
  const diff = digester();
  const out = new PassThrough();
  const stages: (Readable | Transform)[] = [input, blob, ...(gzip ? [createGunzip()] : []), diff];
  const feeding = pipeline([...stages, out] as [Readable, ...Transform[], PassThrough]);
  await Promise.all([feeding, sink(out)]);
  const b = blob.result();
  const d = diff.result();
  return { blob: b.digest, diff: d.digest, bytes: d.bytes };
}
