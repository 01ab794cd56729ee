/**
 * @module Boots the plugins the way a user would (`tsnet serve`) in a fresh `/tmp/tstest-<hex>/`, and
 * registers them with the real dockerd as v1 plugins through spec files whose names are unique to the
 * instance, so tests never share a socket or a driver name. Also raw plugin calls over a unix socket and
 * a docker CLI wrapper. Everything it creates carries the `tstest` prefix, which the leak check looks for.
 *
 * dockerd caches every v1 plugin it has used, by name, until it restarts. Once an instance whose volume
 * plugin dockerd used has stopped, whatever asks all volume drivers waits ~15 s for the dead socket: a
 * plain `docker volume ls`, and `docker volume inspect`/`rm` of a name that does not exist. Filter with
 * `docker volume ls --filter driver=<name>`, and remove a volume only if the test has not already.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { start, type Child } from '../../common/kernel/exec.js';
import { detachDevices, listLoops } from '../../common/kernel/loop.js';
import { isUnder } from '../../common/kernel/mount-info.js';
import { postRaw } from '../../common/protocol/client.js';
import { READY_CALL, SOCKET_NAMES, type PluginKind } from '../../common/plugin.js';
import { mountsMatching, mustRun, pollUntil, repoRoot, tryRun, unmountLazy, type TryRunResult } from '../system.js';

const ALL_KINDS: readonly PluginKind[] = ['network', 'ipam', 'volume'];
const SPEC_SUFFIX: Record<PluginKind, string> = { network: 'net', ipam: 'ipam', volume: 'vol' };

/** Where dockerd looks for v1 plugin spec files. */
export const DOCKER_SPEC_DIR = '/etc/docker/plugins';

/** Options of {@link startSuite}. */
export interface StartSuiteOptions {
  /** Plugins to serve (`--only`); all three when omitted. */
  only?: PluginKind[];
  /**
   * Program to run instead of `node <repo>/dist/cli/tsnet.js`; `serve --plugins-dir … --state-dir …
   * [--only …]` is appended. For testing the harness itself with a fake server.
   */
  command?: string[];
  /**
   * Serve the name service on this address (`--dns-addr`) instead of `--no-dns`. The host must already
   * have the address (on a link the test made), or serve would make the machine-wide `tsdns0`.
   */
  dnsAddr?: string;
  /** More `serve` flags, appended as given (e.g. `['--metrics-addr', '127.0.0.1:9464']`). */
  args?: string[];
  /** How long to wait for the plugins to be ready (reconciled); default 30 s. */
  readyTimeoutMs?: number;
  /**
   * Agreement and healing (serve's `TSNET_DOCKER_HOST`, `TSNET_ENGINE_LITE_STATE`, `TSNET_HEAL`). Off unless
   * given: an instance must not release what the host dockerd or a test's engine-lite does not know.
   */
  sync?: { dockerHost?: string; engineLiteState?: string; heal?: boolean };
}

/** A running `tsnet serve` registered with dockerd; see {@link startSuite}. */
export interface SuiteHandle {
  /** The instance's temp folder, `/tmp/tstest-<hex>`. */
  readonly dir: string;
  readonly pluginsDir: string;
  readonly stateDir: string;
  /** Driver names dockerd knows the plugins by (`tstest<hex>net`, …); only served kinds have a spec file. */
  readonly driverNames: Readonly<Record<PluginKind, string>>;
  /** Socket path of each plugin kind. */
  readonly sockets: Readonly<Record<PluginKind, string>>;
  /** Kinds this instance serves. */
  readonly served: readonly PluginKind[];
  /** Pid of the current process, undefined while none runs. */
  readonly pid: number | undefined;
  /** Stops the process gracefully (if it runs) and starts it again with the same folders; resolves when it has reconciled. */
  restart(): Promise<void>;
  /** Kills the process with SIGKILL (no cleanup on its side) and waits for it to be gone. */
  kill9(): Promise<void>;
  /**
   * SIGTERM, wait for exit, then remove the spec files, unmount what is still mounted below the temp
   * folder (and detach loop devices backed there), and remove the folder. Idempotent.
   */
  stop(): Promise<void>;
  /** Everything the process (all its incarnations) wrote to stdout and stderr. */
  logs(): string;
}

/** Path of the product's CLI entry, built by `npm run build` (tests: the vitest setup builds it). */
export function cliPath(): string {
  return join(repoRoot(), 'dist/cli/tsnet.js');
}

/**
 * Starts `tsnet serve` in a fresh `/tmp/tstest-<hex>/{plugins,state}`, waits until every served plugin
 * is ready (has reconciled: answers its {@link READY_CALL}), then writes `/etc/docker/plugins/tstest<hex>{net,ipam,vol}.spec`.
 * Rejects with the process's output if it exits or does not answer in time (nothing is left behind then).
 */
export async function startSuite(opts: StartSuiteOptions = {}): Promise<SuiteHandle> {
  const hex = randomBytes(4).toString('hex');
  const dir = `/tmp/tstest-${hex}`;
  const pluginsDir = join(dir, 'plugins');
  const stateDir = join(dir, 'state');
  const served = opts.only ?? ALL_KINDS;
  const argv = [
    ...(opts.command ?? [process.execPath, cliPath()]),
    ...['serve', '--plugins-dir', pluginsDir, '--state-dir', stateDir],
    // The name service would put its address on a tsdns0 link of the machine, shared by every suite: off
    // unless the test gives an address of its own.
    ...(opts.dnsAddr === undefined ? ['--no-dns'] : ['--dns-addr', opts.dnsAddr]),
    ...(opts.only ? ['--only', opts.only.join(',')] : []),
    ...(opts.args ?? []),
  ];
  if (!opts.command && !existsSync(argv[1]!)) throw new Error(`${argv[1]} does not exist: build first with \`npm run build\``);
  const kinds = (f: (k: PluginKind) => string) => Object.fromEntries(ALL_KINDS.map((k) => [k, f(k)])) as Record<PluginKind, string>;
  const driverNames = kinds((k) => `tstest${hex}${SPEC_SUFFIX[k]}`);
  const sockets = kinds((k) => join(pluginsDir, SOCKET_NAMES[k]));
  const specFiles = served.map((k) => join(DOCKER_SPEC_DIR, `${driverNames[k]}.spec`));

  const syncEnv = {
    TSNET_DOCKER_HOST: opts.sync?.dockerHost ?? 'none',
    TSNET_ENGINE_LITE_STATE: opts.sync?.engineLiteState ?? 'none',
    TSNET_HEAL: String(opts.sync?.heal ?? false),
  };
  let output = '';
  let child: Child | undefined;
  const running = () => child !== undefined && !child.exited;

  async function launch(): Promise<void> {
    const c = start(argv, { stdout: 'pipe', stderr: 'pipe', env: { ...process.env, ...syncEnv } });
    child = c;
    for (const stream of [c.stdout, c.stderr]) stream?.setEncoding('utf8').on('data', (d: string) => (output += d));
    const answers = async () => {
      for (const k of served) if (!(await pluginReady(sockets[k], k))) return false;
      return true;
    };
    if (await pollUntil(answers, { timeoutMs: opts.readyTimeoutMs ?? 30_000, intervalMs: 100, abort: () => c.exited })) return;
    const status = c.exited ? await c.done : undefined;
    const why = status?.startError ? `could not start (${status.startError})` : status ? `exited (${status.code ?? status.signal})` : 'did not answer in time';
    await signal('SIGKILL');
    throw new Error(`\`${argv.join(' ')}\` ${why}; its output:\n${output}`);
  }

  async function signal(sig: NodeJS.Signals): Promise<void> {
    if (!child || !running()) return;
    child.kill(sig);
    if (!(await child.waitForExit(sig === 'SIGKILL' ? 5_000 : 15_000))) {
      child.kill('SIGKILL');
      await child.waitForExit(5_000);
      output += `\n[harness] no exit within 15 s of ${sig}; sent SIGKILL\n`;
    }
  }

  async function cleanup(): Promise<void> {
    await signal('SIGTERM');
    await Promise.all(specFiles.map((f) => rm(f, { force: true })));
    // Volumes may still be mounted (a plugin keeps them across restarts); rm must not descend into them.
    for (const mp of await mountsMatching((m) => isUnder(m, dir))) await unmountLazy(mp);
    await detachDevices((await listLoops()).filter((l) => isUnder(l.backingFile, dir)));
    await rm(dir, { recursive: true, force: true });
  }

  await mkdir(pluginsDir, { recursive: true, mode: 0o700 });
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  try {
    await launch();
    await mkdir(DOCKER_SPEC_DIR, { recursive: true });
    for (const k of served) await writeFile(join(DOCKER_SPEC_DIR, `${driverNames[k]}.spec`), `unix://${sockets[k]}\n`);
  } catch (err) {
    await cleanup();
    throw err;
  }

  return {
    dir,
    pluginsDir,
    stateDir,
    driverNames,
    sockets,
    served,
    get pid() {
      return running() ? child?.pid : undefined;
    },
    async restart() {
      await signal('SIGTERM');
      output += '\n[harness] restart\n';
      await launch();
    },
    async kill9() {
      await signal('SIGKILL');
    },
    stop: cleanup,
    logs: () => output,
  };
}

/** Whether a plugin listens on `socketPath` and answers `Plugin.Activate` with 200 within 2 s. */
export async function pluginAnswers(socketPath: string): Promise<boolean> {
  if (!existsSync(socketPath)) return false;
  try {
    return (await pluginCall(socketPath, 'Plugin.Activate', undefined, { timeoutMs: 2_000 })).status === 200;
  } catch {
    return false;
  }
}

/**
 * Whether the plugin of `kind` on `socketPath` is ready: `tsnet serve` listens (and answers
 * `Plugin.Activate`) before a plugin has reconciled, but holds its other calls until then.
 */
export async function pluginReady(socketPath: string, kind: PluginKind): Promise<boolean> {
  if (!existsSync(socketPath)) return false;
  try {
    return (await pluginCall(socketPath, READY_CALL[kind], undefined, { timeoutMs: 30_000 })).status === 200;
  } catch {
    return false;
  }
}

/** Reply of {@link pluginCall}; `json` is undefined when the body is not JSON. */
export interface PluginReply {
  status: number;
  json: unknown;
  text: string;
}

/** Options of {@link pluginCall}. */
export interface PluginCallOptions {
  /** Sent as the body verbatim instead of JSON-encoding `body` (for malformed-request tests). */
  rawBody?: string;
  /** Default 10 s; the call rejects after it. */
  timeoutMs?: number;
}

/**
 * `POST /<method>` over the unix socket, shaped like dockerd's requests (through the protocol client's
 * {@link postRaw}): `Accept: …v1.2+json`, no Content-Type ever, `body` JSON-encoded with a trailing
 * newline (Go's json.Encoder), and an EMPTY body when `body` is undefined. Unlike `callPlugin` it never
 * judges the reply; it rejects only on transport errors and timeouts.
 */
export async function pluginCall(socketPath: string, method: string, body?: unknown, opts: PluginCallOptions = {}): Promise<PluginReply> {
  const payload = opts.rawBody ?? (body === undefined ? undefined : `${JSON.stringify(body)}\n`);
  const { status, text } = await postRaw(socketPath, method, payload, opts.timeoutMs ?? 10_000);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status, json, text };
}

/** Runs the docker CLI with `args`; never rejects (a missing CLI gives `code: null`). */
export function docker(args: readonly string[]): Promise<TryRunResult> {
  return tryRun(['docker', ...args]);
}

/** Runs the docker CLI with `args` and resolves with its result; rejects with its stderr on a non-zero exit. */
export function dockerOk(args: readonly string[]): Promise<TryRunResult> {
  return mustRun(['docker', ...args]);
}
