#!/usr/bin/env node
/**
 * @module The `engine-lite` command: a daemonless container engine that speaks docker's CLI and
 * makes dockerd's plugin calls. Global flags come before the command; each command opens the state
 * directory and first reconciles it (see container/reconcile.ts). Errors print one line and exit
 * with docker's codes: 125 when `run` fails before the command ran, 126/127 when the command cannot
 * run, 1 otherwise.
 */
import { Command, InvalidArgumentError as CommanderArgumentError } from 'commander';
import { addContainerCommands } from './cli/container-commands.js';
import { setEngine } from './cli/common.js';
import { addImageCommands } from './cli/image-commands.js';
import { addNetworkCommands } from './cli/network-commands.js';
import { addVolumeCommands } from './cli/volume-commands.js';
import { Engine } from './engine.js';
import { packageVersion } from '../common/package-info.js';
import { DEFAULT_PLUGINS_DIR, DEFAULT_SPEC_DIRS } from './plugins/discovery.js';

/** Where state lives unless `--state-dir` says otherwise. */
const DEFAULT_STATE_DIR = '/var/lib/tsnet/engine-lite';

interface GlobalFlags {
  stateDir: string;
  pluginsDir: string;
  pluginTimeout: number;
}

function parseSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new CommanderArgumentError('must be a positive number of seconds');
  return n;
}

/** Name of the command being run, once commander has chosen it. */
let commandName: string | undefined;

function buildProgram(): Command {
  const program = new Command('engine-lite')
    .description('A minimal daemonless container engine that drives Docker network, IPAM and volume plugins')
    .helpOption('--help', 'display help for command')
    .version(packageVersion())
    .option('--state-dir <dir>', 'where containers, networks, volumes and images are recorded', DEFAULT_STATE_DIR)
    .option('--plugins-dir <dir>', 'where plugin sockets are found (dockerd: /run/docker/plugins)', DEFAULT_PLUGINS_DIR)
    .option('--plugin-timeout <seconds>', 'give up on a plugin call after this long', parseSeconds, 30)
    .enablePositionalOptions()
    .showHelpAfterError();
  program.hook('preAction', async (_program, action) => {
    commandName = action.name();
    const o = program.opts<GlobalFlags>();
    const warn = (msg: string) => process.stderr.write(`engine-lite: warning: ${msg}\n`);
    const engine = await Engine.open({ stateDir: o.stateDir, pluginsDir: o.pluginsDir, specDirs: DEFAULT_SPEC_DIRS, pluginTimeoutMs: o.pluginTimeout * 1000 }, warn);
    setEngine(engine);
    if (action.name() !== '__supervise') {
      const { reconcileContainers } = await import('./container/reconcile.js');
      await reconcileContainers(engine);
      if ((await engine.state.networks.list()).some((n) => n.status !== 'ready')) {
        const { reconcileNetworks } = await import('./network/networks.js');
        await reconcileNetworks(engine);
      }
    }
  });
  addContainerCommands(program);
  addNetworkCommands(program);
  addVolumeCommands(program);
  addImageCommands(program);
  return program;
}

/** Exit status for a failed command (see module comment). */
function exitStatus(err: unknown): number {
  const code = (err as { exitCode?: unknown }).exitCode;
  if (typeof code === 'number' && (err as { code?: string }).code === 'ERR_COMMAND_START') return code;
  return commandName === 'run' ? 125 : 1;
}

buildProgram()
  .parseAsync(process.argv)
  .then(
    () => process.exit(process.exitCode ?? 0),
    (err: unknown) => {
      if (!(err as { reported?: boolean }).reported) process.stderr.write(`engine-lite: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(exitStatus(err));
    },
  );
