/**
 * @module `tsnet service install|uninstall` and `tsnet wait-ready`: the system-service install. The unit
 * is packaging/systemd/tsnet.service with the absolute paths of node and of this installed tsnet filled
 * in; install writes it under `<root>/etc/systemd/system/` and, when systemd runs this machine (and the
 * root is `/`), reloads systemd and enables and starts it. `wait-ready` is the unit's readiness check
 * (ExecStartPost): it returns once every plugin answers its {@link READY_CALL}, which a plugin does only
 * when it has reconciled (`Plugin.Activate` answers earlier: serve listens before it reconciles).
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { systemctl, systemdIsInit } from '../common/kernel/systemd.js';
import { packageRoot } from '../common/package-info.js';
import { DEFAULT_PLUGINS_DIR, DEFAULT_STATE_DIR, READY_CALL, SOCKET_NAMES, type PluginKind } from '../common/plugin.js';
import { postRaw } from '../common/protocol/client.js';

/** The unit's file name. */
export const UNIT_NAME = 'tsnet.service';

/** Where units written by the administrator go, below the root. */
const UNIT_DIR = 'etc/systemd/system';

/** What the template's `@…@` fields are filled with. */
export interface UnitSettings {
  /** Absolute path of the node binary. */
  node: string;
  /** Absolute path of the tsnet entry (dist/cli/tsnet.js of the installed package). */
  tsnet: string;
  pluginsDir: string;
  stateDir: string;
}

/** Path of the unit template in the installed package. */
export function unitTemplatePath(): string {
  return join(packageRoot(), 'packaging/systemd', UNIT_NAME);
}

/** node and tsnet as this process runs them: the unit starts the same installed copy. */
export function installedPaths(): Pick<UnitSettings, 'node' | 'tsnet'> {
  return { node: process.execPath, tsnet: join(packageRoot(), 'dist/cli/tsnet.js') };
}

/**
 * A path systemd takes verbatim on a command line: absolute, and no blank, quote, `%` (a specifier)
 * or `$` (a variable). Anything else is refused rather than escaped.
 */
function unitPath(what: string, path: string): string {
  if (!/^\/[A-Za-z0-9._/+@:-]*$/.test(path) || path.split('/').includes('..')) {
    throw new InvalidArgumentError(`${what} "${path}" must be an absolute path of letters, digits and ._/+@:- (systemd would read anything else)`);
  }
  return path.length > 1 ? path.replace(/\/+$/, '') : path;
}

/**
 * The unit text from the template: every `@NODE@`, `@TSNET@`, `@PLUGINS_DIR@`, `@STATE_DIR@` and
 * `@STATE_DIRECTORY@` replaced; lines mentioning StateDirectory are dropped when the state directory
 * is not below /var/lib (systemd's StateDirectory= only names directories there).
 * @throws InvalidArgumentError for a path systemd would not read verbatim, or a field left unfilled.
 */
export function renderUnit(template: string, s: UnitSettings): string {
  const stateDir = unitPath('state directory', s.stateDir);
  const underVarLib = /^\/var\/lib\/[^/]/.test(stateDir) ? stateDir.slice('/var/lib/'.length) : undefined;
  const fields: Record<string, string> = {
    '@NODE@': unitPath('node', s.node),
    '@TSNET@': unitPath('tsnet', s.tsnet),
    '@PLUGINS_DIR@': unitPath('plugins directory', s.pluginsDir),
    '@STATE_DIR@': stateDir,
    '@STATE_DIRECTORY@': underVarLib ?? '',
  };
  const text = template
    .split('\n')
    .filter((line) => underVarLib !== undefined || !line.includes('StateDirectory'))
    .map((line) => line.replace(/@[A-Z_]+@/g, (f) => fields[f] ?? f))
    .join('\n');
  const left = /@[A-Z_]+@/.exec(text);
  if (left) throw new InvalidArgumentError(`the unit template has a field ${left[0]} that install does not know`);
  return text;
}

/** A `Key=value` setting of a unit text (the first one, in any section); undefined when absent. */
export function unitSetting(unit: string, key: string): string | undefined {
  for (const line of unit.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m?.[1] === key) return m[2];
  }
  return undefined;
}

/** Options of {@link installService} and {@link uninstallService}. */
export interface ServiceOptions {
  /** Install below this folder instead of `/` (then systemctl is never run). */
  root: string;
  dryRun: boolean;
  pluginsDir: string;
  stateDir: string;
  /** Receives each line to print. */
  out: (line: string) => void;
}

/** Whether systemctl should act: systemd runs this machine and the units go to its own root. */
function systemdManages(root: string): boolean {
  return root === '/' && systemdIsInit();
}

function notManagedReason(root: string): string {
  return root !== '/'
    ? `--root ${root} is not this machine's root, so systemctl was not run`
    : 'systemd is not the init system here (no /run/systemd/system), so systemctl was not run';
}

/** Writes the unit (and on a systemd machine reloads, enables and starts it); idempotent. Returns the unit's path. */
export async function installService(o: ServiceOptions): Promise<string> {
  const unit = renderUnit(await readFile(unitTemplatePath(), 'utf8'), { ...installedPaths(), pluginsDir: o.pluginsDir, stateDir: o.stateDir });
  const dir = join(o.root, UNIT_DIR);
  const path = join(dir, UNIT_NAME);
  const steps = [['daemon-reload'], ['enable', '--now', UNIT_NAME]];
  if (o.dryRun) {
    o.out(`would write ${path}:`);
    o.out(unit);
    o.out(systemdManages(o.root) ? `would run: ${steps.map((s) => `systemctl ${s.join(' ')}`).join('; ')}` : `would not run systemctl: ${notManagedReason(o.root)}`);
    return path;
  }
  await mkdir(dir, { recursive: true });
  await writeFile(`${path}.tmp`, unit, { mode: 0o644 });
  await rename(`${path}.tmp`, path);
  o.out(`wrote ${path}`);
  if (systemdManages(o.root)) {
    for (const s of steps) await systemctl(s);
    o.out(`enabled and started ${UNIT_NAME}; docker.service now starts after it is ready`);
  } else {
    o.out(`${notManagedReason(o.root)}. What was written:`);
    o.out(unit);
  }
  return path;
}

/** Stops, disables and removes the unit (state is kept); idempotent. */
export async function uninstallService(o: ServiceOptions): Promise<void> {
  const path = join(o.root, UNIT_DIR, UNIT_NAME);
  if (!existsSync(path)) {
    o.out(`${UNIT_NAME} is not installed (no ${path})`);
    return;
  }
  const manages = systemdManages(o.root);
  if (o.dryRun) {
    o.out(`would ${manages ? `run systemctl disable --now ${UNIT_NAME}, ` : ''}remove ${path}${manages ? ' and run systemctl daemon-reload' : ''}`);
    return;
  }
  if (manages) await systemctl(['disable', '--now', UNIT_NAME]);
  await rm(path, { force: true });
  if (manages) await systemctl(['daemon-reload']);
  o.out(`removed ${path}${manages ? ' (stopped and disabled)' : `; ${notManagedReason(o.root)}`}; the state directory is kept`);
}

/** Options of {@link waitReady}. */
export interface WaitReadyOptions {
  pluginsDir: string;
  kinds: readonly PluginKind[];
  timeoutMs: number;
  /** Between rounds; default 100 ms. */
  intervalMs?: number;
}

/** Whether the `kind` plugin on `socket` has reconciled: its {@link READY_CALL} answers 200 within 2 s. */
async function isReady(socket: string, kind: PluginKind): Promise<boolean> {
  if (!existsSync(socket)) return false;
  const reply = await postRaw(socket, READY_CALL[kind], undefined, 2_000).catch(() => undefined);
  return reply?.status === 200;
}

/**
 * Polls until every plugin of `kinds` in `pluginsDir` has reconciled (answers its {@link READY_CALL}).
 * @returns the sockets that still did not when `timeoutMs` ran out (empty: all ready).
 */
export async function waitReady(o: WaitReadyOptions): Promise<string[]> {
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    const waiting: string[] = [];
    for (const k of o.kinds) {
      const socket = join(o.pluginsDir, SOCKET_NAMES[k]);
      if (!(await isReady(socket, k))) waiting.push(socket);
    }
    if (waiting.length === 0 || Date.now() >= deadline) return waiting;
    await new Promise((resolve) => setTimeout(resolve, o.intervalMs ?? 100));
  }
}

function positiveSeconds(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) throw new InvalidArgumentError('expected a whole number of seconds, at least 1');
  return n;
}

/** Adds `service install|uninstall` and `wait-ready` to the `tsnet` program. */
export function registerServiceCommands(program: Command, kinds: readonly PluginKind[], parseKinds: (value: string) => PluginKind[]): void {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const service = program.command('service').description(`install tsnet as a systemd service (${UNIT_NAME}) that docker.service starts after`);
  const common = (c: Command) =>
    c
      .option('--root <dir>', 'install below this folder instead of / (systemctl is then not run)', '/')
      .option('--dry-run', 'print what would be written and run; change nothing', false)
      .option('--plugins-dir <dir>', 'where the service puts the plugin sockets', DEFAULT_PLUGINS_DIR)
      .option('--state-dir <dir>', 'where the service keeps its state', DEFAULT_STATE_DIR);
  type Flags = Omit<ServiceOptions, 'out'>;
  common(service.command('install'))
    .description(`write /etc/systemd/system/${UNIT_NAME} for this node and tsnet; enable and start it when systemd runs this machine`)
    .action(async (o: Flags) => {
      await installService({ ...o, out });
    });
  common(service.command('uninstall'))
    .description(`stop, disable and remove ${UNIT_NAME} (the state directory is kept)`)
    .action(async (o: Flags) => {
      await uninstallService({ ...o, out });
    });
  program
    .command('wait-ready')
    .description('wait until every plugin serves, reconciled (the service readiness check); exit 1 on timeout')
    .option('--plugins-dir <dir>', 'where the plugin sockets are', DEFAULT_PLUGINS_DIR)
    .option('--only <plugins>', `comma-separated subset of ${kinds.join(',')}`, parseKinds, [...kinds])
    .option('--timeout <seconds>', 'give up after this long', positiveSeconds, 60)
    .action(async (o: { pluginsDir: string; only: PluginKind[]; timeout: number }) => {
      const waiting = await waitReady({ pluginsDir: o.pluginsDir, kinds: o.only, timeoutMs: o.timeout * 1000 });
      if (waiting.length > 0) throw new Error(`not serving after ${o.timeout} s: ${waiting.join(', ')}`);
      out(`ready: ${o.only.map((k) => join(o.pluginsDir, SOCKET_NAMES[k])).join(', ')}`);
    });
}
