/**
 * @module Streams a tar archive out of, or into, a directory with the system's GNU tar, argv only
 * (`tsnet volume export|import`). `run()` of exec.ts buffers a program's output as text, which a
 * binary stream of any size cannot go through, so tar is {@link start}ed with its streams piped.
 */
import type { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { start } from './exec.js';

/** GNU tar failed; `stderr` holds its messages. */
export class TarError extends Error {
  readonly code = 'ERR_TAR';
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'TarError';
  }
}

/** Options shared by both directions: exact owners and modes, xattrs, one filesystem. */
const COMMON = ['--numeric-owner', '--xattrs', '--xattrs-include=*'];

/** tar arguments that write an archive of everything in `dir` to stdout. */
export function createArgs(dir: string): string[] {
  return ['tar', '--create', '--file=-', `--directory=${dir}`, ...COMMON, '--one-file-system', '--sparse', '.'];
}

/**
 * tar arguments that unpack stdin into `dir`. GNU tar refuses member names with `..` and absolute
 * ones, and unpacks symlinks that point outside as placeholders until the end, so an archive cannot
 * write outside `dir`.
 */
export function extractArgs(dir: string): string[] {
  return ['tar', '--extract', '--file=-', `--directory=${dir}`, ...COMMON, '--same-owner', '--same-permissions'];
}

/** Result of {@link runTar}: warnings tar printed but did not fail on (e.g. "file changed as we read it"). */
export interface TarResult {
  warnings: string;
}

/**
 * Runs tar (`argv` from {@link createArgs} or {@link extractArgs}), feeding `input` to its stdin or
 * its stdout to `output` (not ended when it is `process.stdout`), through `via` if given (a byte
 * counter). Exit code 1 of `--create` ("some files changed while being archived") is a warning;
 * anything else non-zero is a {@link TarError}; tar's failure is reported before a broken pipe's.
 * `signal` kills tar.
 */
export async function runTar(
  argv: readonly string[],
  io: { input?: Readable; output?: Writable; via?: Transform; signal?: AbortSignal },
): Promise<TarResult> {
  const child = start(argv, { stdin: io.input ? 'pipe' : 'ignore', stdout: io.output ? 'pipe' : 'ignore', stderr: 'capture', ...(io.signal && { signal: io.signal }) });
  const exited = child.done.then(({ code, startError }) => {
    if (startError !== undefined) throw new TarError(`cannot run tar: ${startError}`, '');
    return code;
  });
  const via = io.via ? [io.via] : [];
  const piped: Array<Promise<void>> = [];
  // tar stops reading at the end-of-archive blocks and may exit before Node has written the padding
  // after them; once tar has exited 0, a write it never read is not an error.
  if (io.input) piped.push(pipeline([io.input, ...via, child.stdin!]).catch((err: NodeJS.ErrnoException) => exited.then((code) => {
    if (code !== 0 || (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_PREMATURE_CLOSE')) throw err;
  })));
  if (io.output) piped.push(pipeline([child.stdout!, ...via, io.output], { end: io.output !== process.stdout }));
  const [exit, ...pipes] = await Promise.allSettled([exited, ...piped]);
  if (exit!.status === 'rejected') throw exit!.reason;
  const code = exit!.value;
  const stderr = child.output();
  if (code !== 0 && !(code === 1 && argv.includes('--create'))) {
    throw new TarError(`tar exited with ${code ?? 'a signal'}: ${stderr.trim().split('\n').slice(-3).join('; ') || 'no message'}`, stderr);
  }
  const broken = pipes.find((p) => p.status === 'rejected');
  if (broken) throw broken.reason;
  return { warnings: stderr.trim() };
}
