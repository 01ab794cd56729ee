#!/usr/bin/env node
/**
 * @module The `tsnet` command: `serve` runs the plugins; the other subcommands inspect and manage
 * their state (each plugin registers its own group).
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseClusterStore } from '../common/cluster/etcd-url.js';
import { packageVersion } from '../common/package-info.js';
import type { PluginKind } from '../common/plugin.js';
import { serveForever, type ClusterOptions } from './serve.js';
import { registerServiceCommands } from './service.js';
import { registerIpamCommands } from '../ipam/cli.js';
import { registerStatusCommand } from '../network-driver/cli.js';
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

/** A whole number of seconds, at least `min`. */
function seconds(min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min) throw new InvalidArgumentError(`expected a whole number of seconds, at least ${min}`);
    return n;
  };
}

function clusterStore(value: string): string[] {
  try {
    return parseClusterStore(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

interface ClusterFlags {
  clusterStore?: string[];
  advertiseAddr?: string;
  clusterTtl: number;
  clusterGrace: number;
}

/** The cluster options of `serve`, checked together; undefined without `--cluster-store`. */
function clusterOptions(o: ClusterFlags): ClusterOptions | undefined {
  if (!o.clusterStore) {
    if (o.advertiseAddr !== undefined) throw new Error('--advertise-addr needs --cluster-store (it is the address other hosts reach this one at)');
    return undefined;
  }
  if (o.advertiseAddr === undefined) throw new Error('--cluster-store needs --advertise-addr: the IP address or interface other hosts reach this one at (the VXLAN endpoint)');
  if (o.clusterGrace < o.clusterTtl) throw new Error(`--cluster-grace (${o.clusterGrace} s) must not be shorter than --cluster-ttl (${o.clusterTtl} s)`);
  return { endpoints: o.clusterStore, advertise: o.advertiseAddr, ttlSeconds: o.clusterTtl, graceSeconds: o.clusterGrace };
}

export function buildProgram(): Command {
  const program = new Command('tsnet').description('Docker network, IPAM and volume plugins (tsnet, tsipam, tsvol)').version(packageVersion());
  program
    .command('serve')
    .description('serve the plugins in the foreground until SIGTERM/SIGINT')
    .option('--plugins-dir <dir>', 'where the plugin sockets are created', '/run/docker/plugins')
    .option('--state-dir <dir>', 'where state (LevelDB, volumes) is kept', '/var/lib/tsnet')
    .option('--only <plugins>', `comma-separated subset of ${KINDS.join(',')}`, parseKinds, KINDS)
    .addOption(new Option('--log-level <level>', 'log level').choices(['debug', 'info', 'warn', 'error']).default('info'))
    .option('--cluster-store <url>', 'multi-host: etcd to share overlay networks and address pools in (etcd://host:port[,host:port…])', clusterStore)
    .option('--advertise-addr <ip|iface>', 'multi-host: the address (or interface) other hosts reach this one at; required with --cluster-store')
    .option('--cluster-ttl <seconds>', "multi-host: how soon other hosts forget this host's endpoints after it dies", seconds(3), 10)
    .option('--cluster-grace <seconds>', "multi-host: how long this host's addresses stay reserved after it was last seen", seconds(3), 3600)
    .action(async (o: { pluginsDir: string; stateDir: string; only: PluginKind[]; logLevel: 'debug' | 'info' | 'warn' | 'error' } & ClusterFlags) => {
      const { clusterStore: _s, advertiseAddr: _a, clusterTtl: _t, clusterGrace: _g, ...rest } = o;
      const cluster = clusterOptions(o);
      await serveForever({ ...rest, ...(cluster ? { cluster } : {}) });
    });
  registerStatusCommand(program);
  registerIpamCommands(program);
  registerVolumeCommands(program);
  registerServiceCommands(program, KINDS, parseKinds);
  return program;
}

buildProgram()
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    process.stderr.write(`tsnet: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
