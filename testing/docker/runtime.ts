/**
 * @module The `Runtime` the end-to-end scenarios are written against, once, and run on both real
 * dockerd and engine-lite. engine-lite speaks docker's CLI flags, so a runtime is "a CLI plus the
 * driver names it knows our plugins by": a scenario passing on both is the proof that engine-lite
 * makes the same plugin calls as dockerd.
 */
import type { SuiteHandle } from './plugin-harness.js';
import { tryRun, type TryRunResult } from '../system.js';

export interface Runtime {
  readonly name: 'docker' | 'engine-lite';
  /** The busybox test image, as this runtime names it. */
  readonly image: string;
  /** What to pass to `-d`, `--ipam-driver`, `--volume-driver`/`volume create -d` to reach our plugins. */
  readonly drivers: Readonly<Record<'network' | 'ipam' | 'volume', string>>;
  /** Runs the runtime's CLI with docker-compatible arguments; never rejects on a non-zero exit. */
  cli(args: readonly string[]): Promise<TryRunResult>;
  /** Like {@link cli}, but rejects with the command and its stderr on a non-zero exit; resolves with stdout. */
  ok(args: readonly string[]): Promise<string>;
}

/** Wraps a command prefix (e.g. `['docker']`) as the two CLI methods of a {@link Runtime}. */
export function cliMethods(prefix: readonly string[]): Pick<Runtime, 'cli' | 'ok'> {
  const cli = (args: readonly string[]) => tryRun([...prefix, ...args], { timeoutMs: 180_000 });
  return {
    cli,
    async ok(args) {
      const r = await cli(args);
      if (r.code !== 0) throw new Error(`\`${[...prefix, ...args].join(' ')}\` failed (exit ${r.code}): ${r.stderr.trim()}`);
      return r.stdout;
    },
  };
}

/** Real dockerd, reaching the suite through the harness's spec files. */
export function dockerRuntime(suite: SuiteHandle, image: string): Runtime {
  return { name: 'docker', image, drivers: suite.driverNames, ...cliMethods(['docker']) };
}
