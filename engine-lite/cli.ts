#!/usr/bin/env node
/**
 * @module The `engine-lite` command: a daemonless container engine that speaks docker's CLI and
 * makes dockerd's plugin calls. Global flags come before the command; each command opens the state
 * directory and first reconciles it (see container/reconcile.ts). Errors print one line and exit
 * with docker's codes: 125 when `run` fails before the command ran, 126/127 when the command cannot
 * run, 1 otherwise.
 */
import { ownNamespaceThroughIp } from '../common/kernel/rt-backend.js';
import { setEngine } from './cli/common.js';
import { commanderFlags, GLOBAL_FLAGS, parseFastPath, type FastCommand } from './cli/flags.js';
import { Engine } from './engine.js';
import { DEFAULT_PLUGINS_DIR, DEFAULT_SPEC_DIRS } from './plugins/discovery.js';

/** Where state lives unless `--state-dir` says otherwise. */
const DEFAULT_STATE_DIR = '/var/lib/tsnet/engine-lite';
const DEFAULT_PLUGIN_TIMEOUT_S = 30;

interface GlobalFlags {
  stateDir: string;
  pluginsDir: string;
  pluginTimeout: number;
}

/** A positive number of seconds, or undefined. */
function seconds(value: string): number | undefined {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

/** Name of the command being run, once it is known. */
let commandName: string | undefined;

/** Opens the engine for command `name` and, unless it is a supervisor, reconciles the state first. */
async function openEngine(o: GlobalFlags, name: string): Promise<void> {
  commandName = name;
  const warn = (msg: string) => process.stderr.write(`engine-lite: warning: ${msg}\n`);
  const engine = await Engine.open({ stateDir: o.stateDir, pluginsDir: o.pluginsDir, specDirs: DEFAULT_SPEC_DIRS, pluginTimeoutMs: o.pluginTimeout * 1000 }, warn);
  setEngine(engine);
  if (name === '__supervise') return;
  const { reconcileContainers } = await import('./container/reconcile.js');
  await reconcileContainers(engine);
  if ((await engine.state.networks.list()).some((n) => n.status !== 'ready')) {
    const { reconcileNetworks } = await import('./network/networks.js');
    await reconcileNetworks(engine);
  }
}

/** Runs a command {@link parseFastPath} understood; false when its global flags need commander's checks. */
async function runFast(cmd: FastCommand): Promise<boolean> {
  const timeout = cmd.globals.pluginTimeout === undefined ? DEFAULT_PLUGIN_TIMEOUT_S : seconds(cmd.globals.pluginTimeout);
  if (timeout === undefined) return false;
  const commands = import('./cli/container-commands.js'); // loads while the state opens
  await openEngine({ stateDir: cmd.globals.stateDir ?? DEFAULT_STATE_DIR, pluginsDir: cmd.globals.pluginsDir ?? DEFAULT_PLUGINS_DIR, pluginTimeout: timeout }, cmd.name);
  const { runContainer, superviseContainer } = await commands;
  if (cmd.name === 'run') await runContainer(cmd.image, cmd.command, cmd.flags);
  else await superviseContainer(cmd.id, cmd.parentPid, cmd.parentStart);
  return true;
}

/** The full program (commander, every command group), loaded only when the fast path does not apply. */
async function runProgram(argv: readonly string[]): Promise<void> {
  const { Command, InvalidArgumentError } = await import('commander');
  const { packageVersion } = await import('../common/package-info.js');
  const groups = await Promise.all([import('./cli/container-commands.js'), import('./cli/network-commands.js'), import('./cli/volume-commands.js'), import('./cli/image-commands.js')]);
  const parseSeconds = (value: string): number => {
    const n = seconds(value);
    if (n === undefined) throw new InvalidArgumentError('must be a positive number of seconds');
    return n;
  };
  const program = new Command('engine-lite')
    .description('A minimal daemonless container engine that drives Docker network, IPAM and volume plugins')
    .helpOption('--help', 'display help for command')
    .version(packageVersion())
    .option(commanderFlags(GLOBAL_FLAGS.stateDir), GLOBAL_FLAGS.stateDir.description, DEFAULT_STATE_DIR)
    .option(commanderFlags(GLOBAL_FLAGS.pluginsDir), GLOBAL_FLAGS.pluginsDir.description, DEFAULT_PLUGINS_DIR)
    .option(commanderFlags(GLOBAL_FLAGS.pluginTimeout), GLOBAL_FLAGS.pluginTimeout.description, parseSeconds, DEFAULT_PLUGIN_TIMEOUT_S)
    .enablePositionalOptions()
    .showHelpAfterError();
  program.hook('preAction', (_program, action) => openEngine(program.opts<GlobalFlags>(), action.name()));
  groups[0].addContainerCommands(program);
  groups[1].addNetworkCommands(program);
  groups[2].addVolumeCommands(program);
  groups[3].addImageCommands(program);
  await program.parseAsync(argv);
}

/** Runs the command of `argv` (as process.argv). */
async function main(argv: readonly string[]): Promise<void> {
  ownNamespaceThroughIp(); // a command moves a link or reads an address on the host a few times at most
  const fast = parseFastPath(argv.slice(2));
  if (fast && (await runFast(fast))) return;
  await runProgram(argv);
}

/** Exit status for a failed command (see module comment). */
function exitStatus(err: unknown): number {
  const code = (err as { exitCode?: unknown }).exitCode;
  if (typeof code === 'number' && (err as { code?: string }).code === 'ERR_COMMAND_START') return code;
  return commandName === 'run' ? 125 : 1;
}

main(process.argv).then(
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    if (!(err as { reported?: boolean }).reported) process.stderr.write(`engine-lite: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(exitStatus(err));
  },
);
