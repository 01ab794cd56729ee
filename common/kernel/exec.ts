/**
 * @module The one place that starts external programs (ip, iptables-restore, mount, tar, docker, dockerd,
 * etcd, node, …). Always an argv array, never a shell string. {@link run} and {@link runPiped} run a
 * program to its end on execa: failures, time-outs and cancellations become {@link CommandError} with
 * the first line of stderr. {@link start} starts a long-running one (a daemon, a plugin, a child
 * serving requests) and hands back a {@link Child} to read, signal and wait for; it is node's `spawn`,
 * since it needs none of what execa adds (buffering, rejecting, forced kills).
 *
 * execa is loaded on the first {@link run}/{@link runPiped}: importing it (~150 ES modules) costs
 * 100–150 ms on a 2-vCPU VM, half of an `engine-lite run --rm IMAGE true`, which only ever
 * {@link start}s its init helper.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import type { ExecaError, Options } from 'execa';
import { KernelError } from './errors.js';

/** What every way of running a program accepts. */
export interface ProcessOptions {
  /**
   * Stops the program when it runs longer; default: no limit. {@link run} sends SIGTERM and SIGKILL
   * 5 s later; a {@link start}ed program gets SIGTERM only.
   */
  timeoutMs?: number;
  /** Stops the program when aborted, as `timeoutMs` does. */
  signal?: AbortSignal;
  /** The program's whole environment (replaces this process's); default: this process's. */
  env?: NodeJS.ProcessEnv;
  /** Working directory; default: this process's. */
  cwd?: string;
}

export interface RunOptions extends ProcessOptions {
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

/**
 * Raised by {@link run} and {@link runPiped} when the program exits non-zero, cannot start, is killed,
 * times out or is cancelled; `stderr`, `stdout` and `exitCode` let callers branch (e.g. "File exists").
 */
export class CommandError extends KernelError {
  override readonly code = 'ERR_KERNEL_COMMAND';
  readonly stderr: string;
  readonly stdout: string;
  /** Null when the program could not start or was killed by a signal. */
  readonly exitCode: number | null;
  /** The program ran longer than `timeoutMs`. */
  readonly timedOut: boolean;
  /** The program was stopped because the caller's `signal` was aborted. */
  readonly canceled: boolean;

  constructor(
    opts: Pick<RunOptions, 'object' | 'step'>,
    argv: readonly string[],
    stderr: string,
    exitCode: number | null,
    cause?: unknown,
    more: { stdout?: string; timedOut?: boolean; canceled?: boolean; reason?: string } = {},
  ) {
    const first = more.reason ?? stderr.split('\n').find((l) => l.trim() !== '')?.trim() ?? `exit code ${exitCode}`;
    super(opts.object, opts.step, `${first} (${argv[0]})`, { cause });
    this.name = 'CommandError';
    this.stderr = stderr;
    this.stdout = more.stdout ?? '';
    this.exitCode = exitCode;
    this.timedOut = more.timedOut ?? false;
    this.canceled = more.canceled ?? false;
  }
}

const MAX_BUFFER = 64 * 1024 * 1024;
/** How long a program killed for a time-out or a cancellation gets between SIGTERM and SIGKILL. */
const KILL_GRACE_MS = 5_000;

function split(argv: readonly string[]): [string, string[]] {
  const [file, ...args] = argv;
  if (file === undefined) throw new TypeError('run: empty argv');
  return [file, args];
}

/** execa options shared by every call: raw text output as node's child_process gave it, our limits. */
function baseOptions(opts: ProcessOptions): Options {
  return {
    encoding: 'utf8',
    stripFinalNewline: false,
    maxBuffer: MAX_BUFFER,
    forceKillAfterDelay: KILL_GRACE_MS,
    ...(opts.timeoutMs !== undefined && opts.timeoutMs > 0 ? { timeout: opts.timeoutMs } : {}),
    ...(opts.signal ? { cancelSignal: opts.signal } : {}),
    ...(opts.env ? { env: opts.env, extendEnv: false } : {}),
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
  };
}

/** Turns execa's failure into a {@link CommandError}; anything else is rethrown as it is. */
function commandError(err: unknown, argv: readonly string[], opts: RunOptions | Omit<RunOptions, 'input'>): unknown {
  const e = err as Partial<ExecaError> & Error;
  if (typeof e.failed !== 'boolean' && typeof e.isCanceled !== 'boolean') return err;
  const stderr = typeof e.stderr === 'string' ? e.stderr : '';
  const stdout = typeof e.stdout === 'string' ? e.stdout : '';
  const timedOut = e.timedOut === true;
  const canceled = e.isCanceled === true;
  const reason = timedOut ? `timed out after ${opts.timeoutMs} ms` : canceled ? 'cancelled' : undefined;
  const exitCode = typeof e.exitCode === 'number' ? e.exitCode : null;
  // A program that could not start has no stderr: the reason (e.g. "spawn foo ENOENT") is the message.
  const text = stderr !== '' || exitCode !== null ? stderr : (e.originalMessage ?? e.message);
  return new CommandError(opts, argv, text, exitCode, err, { stdout, timedOut, canceled, ...(reason ? { reason } : {}) });
}

/** Runs `argv[0]` with `argv[1..]`, resolving with its output, or rejecting with {@link CommandError}. */
export async function run(argv: readonly string[], opts: RunOptions): Promise<RunResult> {
  const [file, args] = split(argv);
  const io: Options = opts.input === undefined ? { stdin: 'ignore' } : { input: opts.input };
  try {
    const { execa } = await import('execa');
    const r = await execa(file, args, { ...baseOptions(opts), ...io });
    return { stdout: String(r.stdout), stderr: String(r.stderr) };
  } catch (err) {
    throw commandError(err, argv, opts);
  }
}

/**
 * Runs `argv[0]` with `input` piped into its standard input (e.g. an archive into `tar -x`),
 * resolving with its output, or rejecting with {@link CommandError}, or with the error of `input`
 * itself (the program is then killed). `input` is always read to its end, even when the program
 * stops reading early (tar stops at the end-of-archive blocks), so whatever counts or hashes it
 * upstream sees all of it.
 */
export async function runPiped(argv: readonly string[], input: Readable, opts: Omit<RunOptions, 'input'>): Promise<RunResult> {
  const [file, args] = split(argv);
  const { execa } = await import('execa');
  const child = execa(file, args, { ...baseOptions(opts), stdin: 'pipe' });
  let feedError: Error | undefined;
  const fed = feed(child.stdin, input).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'EPIPE') return; // the program stopped reading: its exit code says why
    feedError = err as Error;
    child.kill('SIGKILL');
  });
  try {
    const r = await child;
    await fed;
    if (feedError) throw feedError;
    return { stdout: String(r.stdout), stderr: String(r.stderr) };
  } catch (err) {
    await fed;
    if (feedError) throw feedError;
    throw commandError(err, argv, opts);
  }
}

/** Copies `input` into `stdin`, honouring back-pressure, and keeps reading `input` once `stdin` closed. */
async function feed(stdin: Writable, input: Readable): Promise<void> {
  let open = true;
  stdin.once('close', () => (open = false));
  stdin.on('error', () => undefined); // the exit code reports the failure
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
}

/** One standard stream of a {@link start}ed program. */
export type StdioTarget =
  /** /dev/null. */
  | 'ignore'
  /** This process's own stream. */
  | 'inherit'
  /** A stream for the caller ({@link Child.stdin}, {@link Child.stdout}, {@link Child.stderr}). */
  | 'pipe'
  /** Kept in memory, read with {@link Child.output} (stdout and stderr interleaved as they came). */
  | 'capture'
  /** Appended to a file. */
  | { file: string }
  /** An open file descriptor of this process. */
  | number;

export interface StartOptions extends ProcessOptions {
  /** Default 'ignore'; a number is an open file descriptor of this process. */
  stdin?: 'ignore' | 'pipe' | 'inherit' | number;
  /** Default 'capture'. */
  stdout?: StdioTarget;
  /** Default 'capture'. */
  stderr?: StdioTarget;
  /** Extra descriptors from fd 3 on (e.g. 'pipe' for a control channel), see {@link Child.fd}. */
  extraFds?: readonly ('pipe' | 'ignore' | number)[];
  /** Own process group, and this process may exit before it (see {@link Child.unref}). */
  detached?: boolean;
}

/** How a {@link start}ed program ended. */
export interface ExitStatus {
  /** Null when killed by a signal or when it never started. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Why it could not start (e.g. "spawn foo ENOENT"); undefined when it ran. */
  startError: string | undefined;
}

/** A running program started by {@link start}. */
export interface Child {
  /** Undefined when it could not start. */
  readonly pid: number | undefined;
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  /** True once it has exited (or failed to start). */
  readonly exited: boolean;
  /** Resolves when it has exited, never rejects. */
  readonly done: Promise<ExitStatus>;
  /** Everything captured so far (streams set to 'capture'). */
  output(): string;
  /** Descriptor `n` ≥ 3 when it was set to 'pipe' in `extraFds`. */
  fd(n: number): Readable | Writable | null;
  /** Sends `sig` (default SIGTERM) if it still runs; false when it had exited. */
  kill(sig?: NodeJS.Signals): boolean;
  /** Resolves true once it has exited, false when `timeoutMs` passed first. */
  waitForExit(timeoutMs: number): Promise<boolean>;
  /** SIGTERM, then SIGKILL after `graceMs` (waiting up to 5 s more); true when SIGTERM was enough or it had exited. */
  terminate(graceMs: number): Promise<boolean>;
  /** Lets this process exit while the program runs (with `detached`). */
  unref(): void;
}

/**
 * Node's stdio entry for `t`; a file is opened for appending, and its descriptor pushed on `opened`
 * (closed by the caller once the program has it).
 */
function stdioOf(t: StdioTarget, opened: number[]): 'pipe' | 'ignore' | 'inherit' | number {
  if (t === 'capture') return 'pipe';
  if (typeof t !== 'object') return t;
  const fd = openSync(t.file, 'a');
  opened.push(fd);
  return fd;
}

/**
 * Starts `argv` and returns at once; it runs until it exits, is killed, times out or `signal` aborts
 * (SIGTERM, no forced kill: {@link Child.terminate} picks the grace). Like node's `spawn`, it may
 * outlive this process. A program that cannot start gives a {@link Child} that has already exited
 * with `startError` set.
 */
export function start(argv: readonly string[], opts: StartOptions = {}): Child {
  const [file, args] = split(argv);
  const out = opts.stdout ?? 'capture';
  const err = opts.stderr ?? 'capture';
  const opened: number[] = [];
  let child: ChildProcess;
  try {
    const stdio: StdioOptions = [opts.stdin ?? 'ignore', stdioOf(out, opened), stdioOf(err, opened), ...(opts.extraFds ?? [])];
    child = spawn(file, args, {
      stdio,
      ...(opts.timeoutMs !== undefined && opts.timeoutMs > 0 ? { timeout: opts.timeoutMs } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.env ? { env: opts.env } : {}),
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
      ...(opts.detached ? { detached: true } : {}),
    });
  } finally {
    for (const fd of opened) closeSync(fd);
  }
  let captured = '';
  if (out === 'capture') child.stdout?.setEncoding('utf8').on('data', (d: string) => (captured += d));
  if (err === 'capture') child.stderr?.setEncoding('utf8').on('data', (d: string) => (captured += d));
  let exited = false;
  let startError: string | undefined;
  // Also emitted when `signal` aborts or a kill fails; only one before the spawn means it never ran.
  child.on('error', (e) => {
    if (child.pid === undefined) startError ??= e.message;
  });
  const done = new Promise<ExitStatus>((resolve) => {
    child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
      exited = true;
      resolve(startError === undefined ? { code, signal, startError } : { code: null, signal: null, startError });
    });
  });
  const waitForExit = (timeoutMs: number) =>
    exited
      ? Promise.resolve(true)
      : new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), timeoutMs);
          void done.then(() => {
            clearTimeout(timer);
            resolve(true);
          });
        });
  const kill = (sig: NodeJS.Signals = 'SIGTERM') => !exited && child.kill(sig);
  return {
    get pid() {
      return child.pid;
    },
    stdin: child.stdin,
    stdout: out === 'pipe' ? child.stdout : null,
    stderr: err === 'pipe' ? child.stderr : null,
    get exited() {
      return exited;
    },
    done,
    output: () => captured,
    fd: (n) => (child.stdio[n] as Readable | Writable | undefined) ?? null,
    kill,
    waitForExit,
    async terminate(graceMs) {
      if (exited) return true;
      kill('SIGTERM');
      if (await waitForExit(graceMs)) return true;
      kill('SIGKILL');
      await waitForExit(5_000);
      return false;
    },
    unref: () => child.unref(),
  };
}
