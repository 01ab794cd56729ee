/**
 * @module The engine-lite side of the {@link Runtime} the scenarios are written against: the built CLI
 * with `--plugins-dir` set to the suite's socket folder (it finds `tsnet`, `tsipam` and `tsvol` there
 * the way dockerd finds v1 plugins) and its own state folder `/tmp/tstest-el-<hex>`, holding the busybox
 * test image imported from a tarball. `cleanup()` removes every container, network and volume it made,
 * then the folder. {@link makeRuntime} gives a scenario file either runtime by name.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { SuiteHandle } from './plugin-harness.js';
import { cliMethods, dockerRuntime, type Runtime } from './runtime.js';
import { buildBusyboxRootfs, mustRun, repoRoot, TEST_IMAGE } from '../system.js';

/** Path of engine-lite's CLI entry, built by `npm run build` (tests: the vitest setup builds it). */
export function engineLiteCliPath(): string {
  return join(repoRoot(), 'dist/engine-lite/cli.js');
}

/** An engine-lite {@link Runtime} with its own state folder. */
export interface EngineLiteRuntime extends Runtime {
  readonly name: 'engine-lite';
  /** The `--state-dir` of this runtime. */
  readonly stateDir: string;
  /** Removes every container (with its anonymous volumes), network and volume, then the state folder. Idempotent. */
  cleanup(): Promise<void>;
}

/** Options of {@link engineLiteRuntime}. */
export interface EngineLiteRuntimeOptions {
  /** Name the busybox image is imported under (default {@link TEST_IMAGE}). */
  image?: string;
  /** `--plugin-timeout` in seconds (default: engine-lite's). */
  pluginTimeoutS?: number;
  /** The state folder (default: a fresh `/tmp/tstest-el-<hex>`); it must not exist yet. */
  stateDir?: string;
}

const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '');

/**
 * Makes an engine-lite runtime for `suite`: a fresh state folder and the busybox image imported into it
 * from a tarball built with {@link buildBusyboxRootfs}. Nothing is left behind if the import fails.
 */
export async function engineLiteRuntime(suite: Pick<SuiteHandle, 'pluginsDir'>, opts: EngineLiteRuntimeOptions = {}): Promise<EngineLiteRuntime> {
  const cli = engineLiteCliPath();
  if (!existsSync(cli)) throw new Error(`${cli} does not exist: build first with \`npm run build\``);
  const stateDir = opts.stateDir ?? `/tmp/tstest-el-${randomBytes(4).toString('hex')}`;
  const image = opts.image ?? TEST_IMAGE;
  const prefix = [process.execPath, cli, '--plugins-dir', suite.pluginsDir, '--state-dir', stateDir];
  if (opts.pluginTimeoutS !== undefined) prefix.push('--plugin-timeout', String(opts.pluginTimeoutS));
  const methods = cliMethods(prefix);
  const cleanup = async () => {
    if (!existsSync(stateDir)) return;
    const each = async (list: string[], rmArgs: (x: string) => string[]) => {
      for (const x of list) await methods.cli(rmArgs(x));
    };
    await each(lines((await methods.cli(['ps', '-aq', '--no-trunc'])).stdout), (id) => ['rm', '-f', '-v', id]);
    const nets = lines((await methods.cli(['network', 'ls', '--format', '{{.Name}}'])).stdout).filter((n) => n !== 'none' && n !== 'host');
    await each(nets, (n) => ['network', 'rm', n]);
    await each(lines((await methods.cli(['volume', 'ls', '-q'])).stdout), (v) => ['volume', 'rm', v]);
    await rm(stateDir, { recursive: true, force: true });
  };
  try {
    const work = join(stateDir, 'image-build');
    await mkdir(work, { recursive: true });
    await buildBusyboxRootfs(join(work, 'rootfs'));
    const tarball = join(work, 'rootfs.tar');
    await mustRun(['tar', '--numeric-owner', '-C', join(work, 'rootfs'), '-cf', tarball, '.']);
    await methods.ok(['image', 'import', '--change', 'CMD ["sh"]', tarball, image]);
    await rm(work, { recursive: true, force: true });
  } catch (err) {
    await rm(stateDir, { recursive: true, force: true });
    throw err;
  }
  return { name: 'engine-lite', image, drivers: { network: 'tsnet', ipam: 'tsipam', volume: 'tsvol' }, stateDir, cleanup, ...methods };
}

/** The runtimes a scenario file runs every scenario on (`describe.each(RUNTIME_NAMES)`). */
export const RUNTIME_NAMES: ReadonlyArray<Runtime['name']> = ['docker', 'engine-lite'];

/** A {@link Runtime} made by {@link makeRuntime}: `cleanup()` removes what engine-lite made (a no-op on docker). */
export type ScenarioRuntime = Runtime & Pick<EngineLiteRuntime, 'cleanup'>;

/**
 * The runtime `name` for `suite`: real dockerd running `dockerImage` (the test image it was given by the
 * global setup), or a fresh {@link engineLiteRuntime}.
 */
export async function makeRuntime(name: Runtime['name'], suite: SuiteHandle, dockerImage: string): Promise<ScenarioRuntime> {
  if (name === 'engine-lite') return engineLiteRuntime(suite);
  return { ...dockerRuntime(suite, dockerImage), cleanup: async () => undefined };
}
