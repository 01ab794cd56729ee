/**
 * @module The one place that starts external programs for the kernel layer (ip, iptables-restore, mount, …).
 * Always an argv array, never a shell string. Failures become {@link KernelError} with the first line of stderr.
 */
import { execFile, spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { KernelError } from './errors.js';

export interface RunOptions {
  /** Written to the program's standard input (e.g. an `ip -batch -` or `iptables-restore` script). */
  input?: string;
  /** What the command acts on, for the error message, e.g. `bridge "tsbr-1"`. */
  object: string;
  /** What the command is meant to do, for the error message, e.g. `create`. */
  step: string;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Raised by {@link run} when the program exits non-zero; `stderr` and `exitCode` let callers branch (e.g. "File exists"). */
export class CommandError extends KernelError {
  override readonly code = 'ERR_KERNEL_COMMAND';
  readonly stderr: string;
  readonly exitCode: number | null;

  constructor(opts: RunOptions, argv: readonly string[], stderr: string, exitCode: number | null, cause?: unknown) {
    const first = stderr.split('\n').find((l) => l.trim() !== '')?.trim() ?? `exit code ${exitCode}`;
    super(opts.object, opts.step, `${first} (${argv[0]})`, { cause });
    this.name = 'CommandError';
    this.stderr = stderr;
    this.exitCode = exitCode;
  }
}

const MAX_BUFFER = 64 * 1024 * 1024;

/** Runs `argv[0]` with `argv[1..]`, resolving with its output, or rejecting with {@link CommandError}. */
export function run(argv: readonly string[], opts: RunOptions): Promise<RunResult> {
  const [file, ...args] = argv;
  if (file === undefined) throw new TypeError('run: empty argv');
  if (opts.input === undefined) {
    return new Promise((resolve, reject) => {
      execFile(file, args, { maxBuffer: MAX_BUFFER, encoding: 'utf8' }, (err, stdout, stderr) => {
        if (err) {
          const code = typeof err.code === 'number' ? err.code : null;
          reject(new CommandError(opts, argv, stderr || err.message, code, err));
        } else {
          resolve({ stdout, stderr });
        }
      });
    });
  }
  const input = opts.input;
  return spawnFed(argv, opts, async (stdin) => {
    stdin.end(input);
  });
}

/**
 * Runs `argv[0]` with `input` piped into its standard input (e.g. an archive into `tar -x`),
 * resolving with its output, or rejecting with {@link CommandError}, or with the error of `input`
 * itself (the program is then killed). `input` is always read to its end, even when the program
 * stops reading early (tar stops at the end-of-archive blocks), so whatever counts or hashes it
 * upstream sees all of it.
 */
export function runPiped(argv: readonly string[], input: Readable, opts: Omit<RunOptions, 'input'>): Promise<RunResult> {
  return spawnFed(argv, opts, async (stdin) => {
    let open = true;
    stdin.once('close', () => (open = false));
    for await (const chunk of input) {
      if (!open || stdin.write(chunk)) continue;
      await new Promise<void>((resolve) => {
        const done = () => {
          stdin.off('drain', done).off('close', done);
          resolve();
        };
        stdin.on('drain', done).on('close', done);
      });
    }
    if (open) stdin.end();
  });
}

/** Spawns `argv` and hands its stdin to `feed`; a failure of `feed` other than a broken pipe fails the run. */
function spawnFed(argv: readonly string[], opts: RunOptions, feed: (stdin: Writable) => Promise<void>): Promise<RunResult> {
  const [file, ...args] = argv;
  if (file === undefined) throw new TypeError('run: empty argv');
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let feedError: Error | undefined;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => reject(new CommandError(opts, argv, err.message, null, err)));
    child.on('close', (code) => {
      if (feedError) reject(feedError);
      else if (code === 0) resolve({ stdout, stderr });
      else reject(new CommandError(opts, argv, stderr, code));
    });
    child.stdin.on('error', () => undefined); // the exit code reports the failure
    feed(child.stdin).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code === 'EPIPE') return; // the program stopped reading: its exit code says why
      feedError = err as Error;
      child.kill('SIGKILL');
    });
  });
}
