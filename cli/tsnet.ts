#!/usr/bin/env node
/**
 * @module The `tsnet` command: `serve` runs the plugins; the other subcommands inspect and manage
 * their state (each plugin registers its own group).
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import type { PluginKind } from '../common/plugin.js';
import { serveForever } from './serve.js';
import { registerIpamCommands } from '../ipam/cli.js';
import { registerVolumeCommands } from '../volume-driver/cli.js';

const KINDS: PluginKind[] = ['network', 'ipam', 'volume'];

function parseKinds(value: string): PluginKind[] {
  const kinds = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const k of kinds) {
    if (!KINDS.includes(k as PluginKind)) throw new InvalidArgumentError(`unknown plugin "${k}" (valid: ${KINDS.join(', ')})`);
  }
  if (kinds.length === 0) throw new InvalidArgumentError(`name at least one plugin (${KINDS.join(', ')})`);
  return [...new Set(kinds)] as PluginKind[];
}

export function buildProgram(): Command {
  const program = new Command('tsnet').description('Docker network, IPAM and volume plugins (tsnet, tsipam, tsvol)');
  program
    .command('serve')
    .description('serve the plugins in the foreground until SIGTERM/SIGINT')
    .option('--plugins-dir <dir>', 'where the plugin sockets are created', '/run/docker/plugins')
    .option('--state-dir <dir>', 'where state (LevelDB, volumes) is kept', '/var/lib/tsnet')
    .option('--only <plugins>', `comma-separated subset of ${KINDS.join(',')}`, parseKinds, KINDS)
    .addOption(new Option('--log-level <level>', 'log level').choices(['debug', 'info', 'warn', 'error']).default('info'))
    .action(async (o: { pluginsDir: string; stateDir: string; only: PluginKind[]; logLevel: 'debug' | 'info' | 'warn' | 'error' }) => {
      await serveForever(o);
    });
  registerIpamCommands(program);
  registerVolumeCommands(program);
  return program;
}

buildProgram()
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    process.stderr.write(`tsnet: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
