/**
 * @module The `tsnet` program: `serve` runs the plugins; the other subcommands inspect and manage
 * their state (each plugin registers its own group). Every `serve` flag can also be given as
 * `TSNET_<FLAG>` (`--state-dir` → `TSNET_STATE_DIR`): a flag beats the environment, the environment
 * beats the default, and an empty value counts as unset (`docker plugin set` cannot unset).
 */
import { isIP } from 'node:net';
import { isAbsolute, join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { readEtcdSecurity, type EtcdSecurityFlags } from '../common/cluster/etcd-security.js';
import { parseClusterStore } from '../common/cluster/etcd-url.js';
import { packageVersion } from '../common/package-info.js';
import { DEFAULT_PLUGINS_DIR, DEFAULT_STATE_DIR, type PluginKind } from '../common/plugin.js';
import { connectionOf, DEFAULT_DOCKER_HOST } from '../docker-sync/docker-host.js';
import { DEFAULT_DNS_ADDR } from '../names/defaults.js';
import { parseUpstream, type Upstream } from '../names/upstreams.js';
import { registerDoctorCommand } from './doctor.js';
import { registerIpamCommands } from '../ipam/admin/cli.js';
import { registerStatusCommand } from '../network-driver/cli.js';
import { registerVolumeCommands } from '../volume-driver/cli.js';
import type { ClusterOptions, ServeOptions } from './serve.js';
import { registerServiceCommands } from './service.js';

const KINDS: PluginKind[] = ['network', 'ipam', 'volume'];
const LEVELS = ['debug', 'info', 'warn', 'error'] as const;

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

/** A socket file name inside the plugins directory (no path). */
function socketName(value: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(value)) throw new InvalidArgumentError(`expected a file name such as tsnet.sock (letters, digits, ".", "_", "-"), got "${value}"`);
  return value;
}

/** `--host-root`: an absolute directory. */
function absoluteDir(value: string): string {
  if (!isAbsolute(value)) throw new InvalidArgumentError(`expected an absolute directory such as /host, got "${value}"`);
  return value;
}

/** `--docker-host`: a dockerd API address, or `none`. */
function dockerHost(value: string): string {
  if (value === 'none') return value;
  try {
    connectionOf(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
  return value;
}

/** `--dns-addr`: an IP address (not loopback: containers could not reach it). */
function dnsAddr(value: string): string {
  if (isIP(value) === 0) throw new InvalidArgumentError(`expected an IP address such as ${DEFAULT_DNS_ADDR}, got "${value}"`);
  if (/^127\./.test(value) || value === '::1') throw new InvalidArgumentError(`${value} is a loopback address, which containers cannot reach; use a link-local one such as ${DEFAULT_DNS_ADDR}`);
  return value;
}

/** `--dns-upstream`: comma-separated `IP`, `IP:PORT` or `[IPv6]:PORT`. */
function dnsUpstreams(value: string): Upstream[] {
  const parts = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (parts.length === 0) throw new InvalidArgumentError('name at least one resolver (IP or IP:PORT)');
  return parts.map((p) => {
    const u = parseUpstream(p);
    if (!u) throw new InvalidArgumentError(`"${p}" is not a resolver address: expected IP, IP:PORT or [IPv6]:PORT`);
    return u;
  });
}

interface DnsFlags {
  dns: boolean;
  dnsAddr: string;
  dnsUpstream?: Upstream[];
  dnsRate?: number;
}

/** `--dns-rate`: a whole number of queries per second, at least 1. */
function perSecond(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) throw new InvalidArgumentError('expected a whole number of queries per second, at least 1');
  return n;
}

interface SyncFlags {
  dockerHost: string;
  engineLiteState?: string;
  heal: boolean;
}

/** `HOST:PORT` (an IPv6 host in brackets: `[::1]:9464`). */
function hostPort(value: string): { host: string; port: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new InvalidArgumentError(`expected HOST:PORT such as 127.0.0.1:9464 (IPv6: [::1]:9464), got "${value}"`);
  return { host: (m[1] ?? m[2])!, port };
}

interface ClusterFlags extends Omit<EtcdSecurityFlags, 'https' | 'password'> {
  clusterStore?: string[];
  advertiseAddr?: string;
  clusterTtl: number;
  clusterGrace: number;
}

/** The etcd password's variable: read from the environment only (a flag would show on the command line). */
const PASSWORD_ENV = 'TSNET_CLUSTER_PASSWORD';

/**
 * The cluster options of `serve`, checked together, with the TLS and password files read; undefined
 * without `--cluster-store`. The password variable is removed from the environment once read, so the
 * programs tsnet runs do not inherit it.
 */
async function clusterOptions(o: ClusterFlags): Promise<ClusterOptions | undefined> {
  const password = process.env[PASSWORD_ENV];
  delete process.env[PASSWORD_ENV];
  if (!o.clusterStore) {
    if (o.advertiseAddr !== undefined) throw new Error('--advertise-addr needs --cluster-store (it is the address other hosts reach this one at)');
    const security = [o.clusterCa && '--cluster-ca', o.clusterCert && '--cluster-cert', o.clusterKey && '--cluster-key', o.clusterUser && '--cluster-user', o.clusterPasswordFile && '--cluster-password-file', password && PASSWORD_ENV].filter(Boolean);
    if (security.length > 0) throw new Error(`${security.join(', ')} ${security.length > 1 ? 'need' : 'needs'} --cluster-store`);
    return undefined;
  }
  if (o.advertiseAddr === undefined) throw new Error('--cluster-store needs --advertise-addr: the IP address or interface other hosts reach this one at (the VXLAN endpoint)');
  if (o.clusterGrace < o.clusterTtl) throw new Error(`--cluster-grace (${o.clusterGrace} s) must not be shorter than --cluster-ttl (${o.clusterTtl} s)`);
  const { clusterCa, clusterCert, clusterKey, clusterUser, clusterPasswordFile } = o;
  const security = await readEtcdSecurity({ https: o.clusterStore[0]!.startsWith('https:'), clusterCa, clusterCert, clusterKey, clusterUser, clusterPasswordFile, password });
  return {
    endpoints: o.clusterStore,
    ...((security.tls || security.auth) && { security }),
    advertise: o.advertiseAddr,
    ttlSeconds: o.clusterTtl,
    graceSeconds: o.clusterGrace,
  };
}

/** `--flag-name` → `TSNET_FLAG_NAME`. */
export const envName = (flag: string) => `TSNET_${flag.replace(/^--/, '').replace(/-/g, '_').toUpperCase()}`;

/** An option of `serve` that can also be set as `TSNET_<FLAG>`. */
function serveOption(flags: string, description: string): Option {
  return new Option(flags, description).env(envName(flags.split(' ')[0]!));
}

/** Removes the `TSNET_*` variables set to "" from `env`, so they count as unset. */
function dropEmptySettings(env: NodeJS.ProcessEnv): void {
  for (const [key, value] of Object.entries(env)) if (key.startsWith('TSNET_') && value === '') delete env[key];
}

/** What `serve` runs; the real one unless a test passes another. */
export type ServeAction = (opts: ServeOptions) => Promise<void>;

export function buildProgram(runServe?: ServeAction): Command {
  const program = new Command('tsnet').description('Docker network, IPAM and volume plugins (tsnet, tsipam, tsvol)').version(packageVersion());
  // Commander reads the environment as each subcommand parses, so this runs first.
  program.hook('preSubcommand', () => dropEmptySettings(process.env));
  program
    .command('serve')
    .description('serve the plugins in the foreground until SIGTERM/SIGINT; every option can also be set as TSNET_<OPTION>')
    .addOption(serveOption('--plugins-dir <dir>', 'where the plugin sockets are created').default(DEFAULT_PLUGINS_DIR))
    .addOption(serveOption('--state-dir <dir>', 'where state (LevelDB, volumes) is kept').default(DEFAULT_STATE_DIR))
    .addOption(serveOption('--only <plugins>', `comma-separated subset of ${KINDS.join(',')}`).argParser(parseKinds).default(KINDS, KINDS.join(',')))
    .addOption(serveOption('--socket <name>', 'serve every chosen plugin on this one socket in the plugins dir (a managed plugin: tsnet.sock)').argParser(socketName))
    .addOption(serveOption('--mount-dir <dir>', 'tsvol: give dockerd volume Mountpoints as <dir>/<name>, bind mounts made at Mount and undone at the last Unmount (a managed plugin: its propagatedMount)'))
    .addOption(serveOption('--host-root <dir>', 'tsvol: where the host\'s root filesystem is seen; a directory volume\'s -o path= (a host path) is reached below it (a managed plugin: /host)').argParser(absoluteDir).default('/'))
    .addOption(serveOption('--log-level <level>', 'log level').choices(LEVELS).default('info'))
    .addOption(serveOption('--cluster-store <url>', 'multi-host: etcd to share overlay networks and address pools in (etcd://host:port[,host:port…]; etcds://… for TLS)').argParser(clusterStore))
    .addOption(serveOption('--cluster-ca <file>', "multi-host, etcds://: the CA (PEM) that signed etcd's certificate [default: the system's CAs]"))
    .addOption(serveOption('--cluster-cert <file>', 'multi-host, etcds://: client certificate (PEM) for etcd --client-cert-auth; with --cluster-key'))
    .addOption(serveOption('--cluster-key <file>', 'multi-host, etcds://: private key (PEM) of --cluster-cert'))
    .addOption(serveOption('--cluster-user <name>', `multi-host: etcd user (etcd auth); the password from ${PASSWORD_ENV} or --cluster-password-file`))
    .addOption(serveOption('--cluster-password-file <file>', "multi-host: file holding --cluster-user's password (one line)"))
    .addOption(serveOption('--advertise-addr <ip|iface>', 'multi-host: the address (or interface) other hosts reach this one at; required with --cluster-store'))
    .addOption(serveOption('--cluster-ttl <seconds>', "multi-host: how soon other hosts forget this host's endpoints after it dies").argParser(seconds(3)).default(10))
    .addOption(serveOption('--cluster-grace <seconds>', "multi-host: how long this host's addresses stay reserved after it was last seen").argParser(seconds(3)).default(3600))
    .addOption(serveOption('--docker-host <url|none>', 'dockerd to agree with and heal through (none: no dockerd)').default(DEFAULT_DOCKER_HOST).argParser(dockerHost))
    .addOption(serveOption('--engine-lite-state <dir|none>', "engine-lite's state directory, a reference when it exists [default: <state-dir>/engine-lite]"))
    .addOption(serveOption('--metrics-addr <host:port>', 'serve /metrics (Prometheus), /healthz and the live topology page here (off by default; keep it on loopback)').argParser(hostPort))
    .addOption(serveOption('--dns-addr <ip>', `name service: the address containers ask (put on an empty bridge tsdns0 unless the host has it); give it to dockerd as "dns"`).argParser(dnsAddr).default(DEFAULT_DNS_ADDR))
    .addOption(serveOption('--dns-upstream <ip[:port],…>', "name service: where other names are forwarded [default: the host's /etc/resolv.conf nameservers]").argParser(dnsUpstreams))
    .addOption(serveOption('--dns-rate <queries/s>', 'name service: queries per second one source address may send (twice that at once); more are dropped [default: 1000]').argParser(perSecond))
    .option('--no-heal', 'do not start containers that failed to start for lack of the plugins (env TSNET_HEAL=false)')
    .option('--no-dns', 'do not serve container names over DNS (env TSNET_DNS=false)')
    .action(async (o: Omit<ServeOptions, 'cluster' | 'sync' | 'dns'> & ClusterFlags & SyncFlags & DnsFlags) => {
      const { clusterStore: _s, advertiseAddr: _a, clusterTtl: _t, clusterGrace: _g, clusterCa: _ca, clusterCert: _c, clusterKey: _k, clusterUser: _u, clusterPasswordFile: _p, dockerHost: host, engineLiteState: el, heal, dns: dnsOn, dnsAddr: addr, dnsUpstream, dnsRate, ...rest } = o;
      const dns = dnsOn && process.env.TSNET_DNS !== 'false' ? { addr, ...(dnsUpstream && { upstreams: dnsUpstream }), ...(dnsRate !== undefined && { rate: dnsRate }) } : undefined;
      const cluster = await clusterOptions(o);
      const engineLiteState = el ?? join(o.stateDir, 'engine-lite');
      const sync = {
        ...(host === 'none' ? {} : { dockerHost: host }),
        ...(engineLiteState === 'none' ? {} : { engineLiteState }),
        heal: heal && process.env.TSNET_HEAL !== 'false',
      };
      const serve = runServe ?? (await import('./serve.js')).serveForever;
      await serve({ ...rest, ...(cluster ? { cluster } : {}), sync, ...(dns && { dns }) });
    });
  registerStatusCommand(program);
  registerIpamCommands(program);
  registerVolumeCommands(program);
  registerDoctorCommand(program);
  registerServiceCommands(program, KINDS, parseKinds);
  return program;
}
