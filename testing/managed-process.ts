/**
 * @module A long-running child of a test (a plugin, a daemon) that can be started, stopped, killed and
 * started again under the same argv, with everything it wrote kept in memory across its lives.
 */
import { start, type Child } from '../common/kernel/exec.js';
import { pollUntil } from './system.js';

/** Options of {@link managedProcess}. */
export interface ManagedProcessOptions {
  /** Resolves true once the process serves; polled every 100 ms after each start. */
  ready: () => Promise<boolean>;
  /** How long {@link ManagedProcess.start} waits for `ready`; default 30 s. */
  readyTimeoutMs?: number;
  /** How long a SIGTERM may take before SIGKILL follows; default 15 s. */
  termGraceMs?: number;
}

/** A restartable child process; see {@link managedProcess}. */
export interface ManagedProcess {
  /** Pid of the current life, undefined while none runs. */
  readonly pid: number | undefined;
  /**
   * Starts the process (if it does not run) and resolves once `ready` says so. Rejects with its output
   * when it exits or does not get ready in time; it is killed then.
   */
  start(): Promise<void>;
  /**
   * Sends `sig` (if it runs) and waits for the exit; a SIGTERM not obeyed within the grace time is
   * followed by SIGKILL. Idempotent.
   */
  signal(sig: NodeJS.Signals): Promise<void>;
  /** Everything every life wrote to stdout and stderr, with the harness's own notes in `[harness]` lines. */
  logs(): string;
  /** Appends a `[harness]` line to the logs. */
  note(text: string): void;
}

/** A {@link ManagedProcess} for `argv` (a program and its arguments, no shell); nothing runs until `start()`. */
export function managedProcess(argv: readonly string[], opts: ManagedProcessOptions): ManagedProcess {
  let output = '';
  let child: Child | undefined;
  const gone = () => !child || child.exited;
  const note = (text: string) => void (output += `\n[harness] ${text}\n`);

  async function signal(sig: NodeJS.Signals): Promise<void> {
    if (gone()) return;
    const c = child!;
    c.kill(sig);
    if (await c.waitForExit(sig === 'SIGKILL' ? 5_000 : (opts.termGraceMs ?? 15_000))) return;
    note(`no exit after ${sig}; sent SIGKILL`);
    c.kill('SIGKILL');
    await c.waitForExit(5_000);
  }

  return {
    get pid() {
      return gone() ? undefined : child?.pid;
    },
    async start() {
      if (!gone()) return;
      const c = start(argv, { stdout: 'pipe', stderr: 'pipe' });
      child = c;
      for (const stream of [c.stdout, c.stderr]) stream?.setEncoding('utf8').on('data', (d: string) => (output += d));
      if (await pollUntil(opts.ready, { timeoutMs: opts.readyTimeoutMs ?? 30_000, intervalMs: 100, abort: gone })) return;
      const status = c.exited ? await c.done : undefined;
      const why = status?.startError ? `could not start (${status.startError})` : status ? `exited (${status.code ?? status.signal})` : 'was not ready in time';
      await signal('SIGKILL');
      throw new Error(`\`${argv.join(' ')}\` ${why}; its output:\n${output}`);
    },
    signal,
    logs: () => output,
    note,
  };
}
