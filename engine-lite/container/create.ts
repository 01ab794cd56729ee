/**
 * @module From `run`'s flags to a container record, checking everything before anything is made
 * (image, networks, mounts, limits, names), then recording the container and creating its named
 * volumes (`Get`, then `Create` if missing), as dockerd does at container create. A failure removes
 * what this step made.
 */
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { constants, hostname as hostHostname } from 'node:os';
import { join } from 'node:path';
import { isMac, parseIp } from '../../common/addr/parse.js';
import { DEFAULT_DRIVERS, type Engine } from '../engine.js';
import { EngineConflictError, InvalidArgumentError } from '../errors.js';
import { checkName, newId, randomName, shortId } from '../ids.js';
import { findImage } from '../image/images.js';
import type { AttachmentRecord, ContainerRecord, ImageRecord, MountRecord } from '../state/records.js';
import { resolveCapabilities } from './capabilities.js';
import { parseCpus, parseMemory, parsePidsLimit } from './limits.js';
import { checkDuplicateDestinations, parseMountFlag, parseVolumeFlag, type MountRequest } from './mount-spec.js';
import { exposedPorts, parseExpose, parsePublish } from './port-spec.js';
import { parseDevice } from './devices.js';
import { parseSecurityOpts } from './security.js';
import { resolveImageUser } from './user.js';
import { resolveUserns } from './userns.js';
import { lowerDirs } from '../image/layers.js';

/**
 * `run`'s image, command and flags, as the CLI collects them (commander's names for docker's flags;
 * strings, not yet checked).
 */
export interface RunRequest {
  image: string;
  command: string[];
  name?: string;
  rm?: boolean;
  interactive?: boolean;
  tty?: boolean;
  env: string[];
  envFile: string[];
  workdir?: string;
  hostname?: string;
  entrypoint?: string;
  memory?: string;
  cpus?: string;
  pidsLimit?: string;
  network: string[];
  ip?: string;
  ip6?: string;
  macAddress?: string;
  networkAlias: string[];
  volume: string[];
  mount: string[];
  tmpfs: string[];
  volumeDriver?: string;
  publish: string[];
  expose: string[];
  dns: string[];
  dnsSearch: string[];
  dnsOption: string[];
  addHost: string[];
  capAdd: string[];
  capDrop: string[];
  device: string[];
  privileged?: boolean;
  securityOpt: string[];
  readOnly?: boolean;
  user?: string;
  userns?: string;
  stopSignal?: string;
  stopTimeout?: string;
}

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const keyOf = (e: string) => e.split('=')[0]!;

/** Sets `entry` (`K=V`) in `env`, replacing an earlier value of K. */
function setEnv(env: string[], entry: string): void {
  const i = env.findIndex((e) => keyOf(e) === keyOf(entry));
  if (i >= 0) env[i] = entry;
  else env.push(entry);
}

/**
 * The container's environment as docker builds it: the image's (or a default PATH), HOSTNAME,
 * TERM with a TTY, `--env-file`s and `-e`s (`-e K` copies K from this process's environment when
 * set), then HOME=/root if unset.
 */
export async function buildEnv(image: ImageRecord, req: RunRequest, hostname: string, hostEnv: NodeJS.ProcessEnv = process.env, home = '/root'): Promise<string[]> {
  const env = [...(image.config.env ?? [])];
  if (!env.some((e) => keyOf(e) === 'PATH')) env.unshift(DEFAULT_PATH);
  setEnv(env, `HOSTNAME=${hostname}`);
  if (req.tty) setEnv(env, 'TERM=xterm');
  const fromFiles: string[] = [];
  for (const file of req.envFile) {
    const text = await readFile(file, 'utf8').catch((err: Error) => {
      throw new InvalidArgumentError(`--env-file ${file}: ${err.message}`);
    });
    fromFiles.push(...text.split('\n').map((l) => l.replace(/^\s+/, '')).filter((l) => l !== '' && !l.startsWith('#')));
  }
  for (const e of [...fromFiles, ...req.env]) {
    if (keyOf(e) === '') throw new InvalidArgumentError(`invalid environment variable: ${e}`);
    if (e.includes('=')) setEnv(env, e);
    else if (hostEnv[e] !== undefined) setEnv(env, `${e}=${hostEnv[e]}`);
  }
  if (!env.some((e) => keyOf(e) === 'HOME')) env.push(`HOME=${home}`);
  return env;
}

/** `--network` values: `NAME` or `name=NAME,ip=…,ip6=…,mac-address=…,alias=…,driver-opt=k=v`. */
interface NetworkFlag {
  name: string;
  ip: string;
  ip6: string;
  mac: string;
  aliases: string[];
  driverOpts: Record<string, string>;
}

function parseNetworkFlag(spec: string): NetworkFlag {
  const out: NetworkFlag = { name: spec, ip: '', ip6: '', mac: '', aliases: [], driverOpts: {} };
  if (!spec.includes('=')) return out;
  out.name = '';
  for (const field of spec.split(',')) {
    const eq = field.indexOf('=');
    const [k, v] = [field.slice(0, eq), field.slice(eq + 1)];
    if (k === 'name') out.name = v;
    else if (k === 'ip') out.ip = v;
    else if (k === 'ip6') out.ip6 = v;
    else if (k === 'mac-address') out.mac = v;
    else if (k === 'alias') out.aliases.push(v);
    else if (k === 'driver-opt' && v.includes('=')) out.driverOpts[v.slice(0, v.indexOf('='))] = v.slice(v.indexOf('=') + 1);
    else throw new InvalidArgumentError(`invalid --network value "${spec}": unknown key "${k}"`);
  }
  if (out.name === '') throw new InvalidArgumentError(`invalid --network value "${spec}": no name=`);
  return out;
}

/** The attachments of `run --network …`, or the network mode `none`/`host`. */
async function resolveNetworks(engine: Engine, req: RunRequest): Promise<{ mode: string; attachments: AttachmentRecord[] }> {
  const flags = req.network.map(parseNetworkFlag);
  const first = flags[0];
  if (!first) {
    if (req.ip || req.ip6 || req.macAddress) throw new InvalidArgumentError('--ip, --ip6 and --mac-address need a --network');
    return { mode: 'none', attachments: [] };
  }
  first.ip ||= req.ip ?? '';
  first.ip6 ||= req.ip6 ?? '';
  first.mac ||= req.macAddress ?? '';
  first.aliases.push(...req.networkAlias);
  const { BUILTIN_NETWORKS, findNetwork } = await import('../network/networks.js');
  if (flags.some((f) => BUILTIN_NETWORKS[f.name] !== undefined)) {
    if (flags.length > 1) throw new InvalidArgumentError('conflicting options: cannot attach both user-defined and non-user-defined network-modes');
    if (first.ip || first.ip6 || first.mac) throw new InvalidArgumentError('user specified IP address is supported on user defined networks only');
    return { mode: first.name, attachments: [] };
  }
  const attachments: AttachmentRecord[] = [];
  for (const f of flags) {
    const net = await findNetwork(engine, f.name);
    if (attachments.some((a) => a.networkId === net.id)) throw new InvalidArgumentError(`network ${f.name} given twice`);
    for (const [ip, v6] of [[f.ip, false], [f.ip6, true]] as const) {
      if (ip === '') continue;
      if (parseIp(ip)?.family !== (v6 ? 6 : 4)) throw new InvalidArgumentError(`invalid IPv${v6 ? 6 : 4} address: ${ip}`);
      if (!net.ipam.config.some((c) => c.Subnet !== undefined && (parseIp(c.Subnet.split('/')[0]!)?.family === 6) === v6)) {
        throw new InvalidArgumentError('user specified IP address is supported only when connecting to networks with user configured subnets');
      }
    }
    if (f.mac !== '' && !isMac(f.mac)) throw new InvalidArgumentError(`invalid MAC address: ${f.mac}`);
    attachments.push({
      networkId: net.id,
      ipv4Requested: f.ip,
      ipv6Requested: f.ip6,
      macRequested: f.mac.toLowerCase(),
      aliases: f.aliases,
      driverOpts: f.driverOpts,
      endpointId: newId(),
    });
  }
  return { mode: first.name, attachments };
}

/** `-v`, `--mount` and `--tmpfs`, checked; missing `-v` host directories are created, as docker does. */
async function resolveMounts(req: RunRequest): Promise<MountRequest[]> {
  const driver = req.volumeDriver ?? DEFAULT_DRIVERS.volume;
  const fromV = req.volume.map((v) => parseVolumeFlag(v, driver));
  const fromMount = req.mount.map((m) => parseMountFlag(m, driver));
  const fromTmpfs = req.tmpfs.map((t): MountRequest => {
    const colon = t.indexOf(':');
    const dst = colon < 0 ? t : t.slice(0, colon);
    const opts = colon < 0 ? '' : t.slice(colon + 1);
    if (!dst.startsWith('/')) throw new InvalidArgumentError(`invalid --tmpfs "${t}": mount path must be absolute`);
    return { type: 'tmpfs', source: '', destination: dst, readonly: false, tmpfsOptions: opts };
  });
  const all = [...fromV, ...fromMount, ...fromTmpfs];
  checkDuplicateDestinations(all);
  for (const m of all) {
    if (m.type !== 'bind') continue;
    const exists = await stat(m.source).then(() => true, () => false);
    if (exists) continue;
    if (fromMount.includes(m)) throw new InvalidArgumentError(`invalid mount config for type "bind": bind source path does not exist: ${m.source}`);
    await mkdir(m.source, { recursive: true });
  }
  return all;
}

function checkSignal(sig: string): string {
  const name = /^\d+$/.test(sig) ? sig : `SIG${sig.toUpperCase().replace(/^SIG/, '')}`;
  if (!/^\d+$/.test(name) && !(name in constants.signals)) throw new InvalidArgumentError(`invalid signal: ${sig}`);
  return name;
}

/** Builds the record of a new container from `req`, without side effects besides `-v` host directories. */
async function buildRecord(engine: Engine, req: RunRequest, id: string): Promise<{ record: ContainerRecord; mounts: MountRequest[] }> {
  const image = await findImage(engine.state, req.image);
  if (req.name !== undefined) checkName('container', req.name);
  if (req.workdir !== undefined && !req.workdir.startsWith('/')) {
    throw new InvalidArgumentError(`the working directory '${req.workdir}' is invalid, it needs to be an absolute path`);
  }
  const { mode, attachments } = await resolveNetworks(engine, req);
  const hostname = req.hostname ?? (mode === 'host' ? hostHostname() : shortId(id));
  const entrypoint = req.entrypoint === undefined ? (image.config.entrypoint ?? []) : req.entrypoint === '' ? [] : [req.entrypoint];
  const cmd = req.command.length > 0 ? req.command : req.entrypoint === undefined ? (image.config.cmd ?? []) : [];
  if (entrypoint.length + cmd.length === 0) throw new InvalidArgumentError('No command specified');
  const bindings = req.publish.flatMap(parsePublish);
  resolveCapabilities({ privileged: req.privileged ?? false, add: req.capAdd, drop: req.capDrop });
  for (const h of req.addHost) {
    if (!/^[^:]+:.+$/.test(h) || parseIp(h.slice(h.indexOf(':') + 1)) === undefined) throw new InvalidArgumentError(`invalid argument "${h}" for "--add-host" flag: expected host:ip`);
  }
  const security = await parseSecurityOpts(req.securityOpt);
  const devices = await Promise.all(req.device.map(parseDevice));
  // `--user` overrides the image's USER, as in docker.
  const userSpec = req.user !== undefined && req.user !== '' ? req.user : image.config.user;
  const user = userSpec === undefined ? undefined : await resolveImageUser(userSpec, lowerDirs(engine.state, image));
  const userns = await resolveUserns(req.userns, { privileged: req.privileged ?? false, ...(user ? { uid: user.uid, gid: user.gid } : {}) });
  const mounts = await resolveMounts(req);
  const record: ContainerRecord = {
    v: 1,
    id,
    name: req.name ?? '',
    created: new Date().toISOString(),
    image: { id: image.id, name: image.name || req.image },
    config: {
      entrypoint,
      cmd,
      env: await buildEnv(image, req, hostname, process.env, user?.home),
      workdir: req.workdir ?? image.config.workdir ?? '/',
      hostname,
      tty: req.tty ?? false,
      openStdin: req.interactive ?? false,
      stopSignal: checkSignal(req.stopSignal ?? 'SIGTERM'),
      stopTimeout: req.stopTimeout === undefined ? 10 : Number(req.stopTimeout),
      ...(user ? { user: userSpec, userIds: { uid: user.uid, gid: user.gid, groups: user.groups } } : {}),
    },
    host: {
      memory: req.memory === undefined ? 0 : parseMemory(req.memory),
      nanoCpus: req.cpus === undefined ? 0 : parseCpus(req.cpus),
      pidsLimit: req.pidsLimit === undefined ? 0 : parsePidsLimit(req.pidsLimit),
      autoRemove: req.rm ?? false,
      privileged: req.privileged ?? false,
      capAdd: req.capAdd,
      capDrop: req.capDrop,
      securityOpt: req.securityOpt,
      ...(security.seccomp ? { seccomp: security.seccomp } : {}),
      noNewPrivileges: security.noNewPrivileges,
      readonlyRootfs: req.readOnly ?? false,
      ...(devices.length > 0 ? { devices } : {}),
      ...(userns ? { userns } : {}),
      dns: req.dns,
      dnsSearch: req.dnsSearch,
      dnsOptions: req.dnsOption,
      extraHosts: req.addHost,
      networkMode: mode,
      portBindings: bindings,
      exposedPorts: exposedPorts(bindings, [...(image.config.exposedPorts ?? []), ...req.expose].flatMap(parseExpose)),
    },
    mounts: mounts.map(({ anonymous: _a, volumeOptions: _o, ...m }) => m),
    attachments,
    cgroup: `tsel-${shortId(id)}`,
    state: { status: 'created', pid: 0, owner: engine.self, startedAt: '', finishedAt: '', exitCode: 0, oomKilled: false, error: '' },
  };
  if (!Number.isInteger(record.config.stopTimeout)) throw new InvalidArgumentError(`invalid --stop-timeout "${req.stopTimeout}"`);
  return { record, mounts };
}

/**
 * Checks `req` and records a new container owned by this process (with ID `id`, a new one unless
 * given), with its named and anonymous volumes created. Nothing is left behind when it throws.
 * @throws InvalidArgumentError, EngineNotFoundError (image, network, volume driver), EngineConflictError (name), PluginFailedError.
 */
export async function createContainer(engine: Engine, req: RunRequest, id = newId()): Promise<ContainerRecord> {
  const { record: c, mounts } = await buildRecord(engine, req, id);
  const dir = engine.state.containerDir(c.id);
  await engine.state.lock.run(async () => {
    const others = await engine.state.containers.list();
    const clash = others.find((o) => o.name === c.name);
    if (clash) {
      throw new EngineConflictError(`Conflict. The container name "/${c.name}" is already in use by container "${clash.id}". You have to remove (or rename) that container to be able to reuse that name.`);
    }
    if (c.name === '') c.name = randomName(new Set(others.map((o) => o.name)));
    await engine.state.containers.put(c.id, c);
  });
  const made: string[] = [];
  const volumes = mounts.some((m) => m.type === 'volume') ? await import('../volume/volumes.js') : undefined;
  try {
    await Promise.all(['upper', 'work', 'rootfs'].map((d) => mkdir(join(dir, d), { recursive: true, mode: 0o755 })));
    for (const [i, m] of mounts.entries()) {
      if (m.type !== 'volume') continue;
      const v = await volumes!.ensureVolume(engine, {
        ...(m.anonymous ? {} : { name: m.source }),
        driver: m.driver!,
        options: m.volumeOptions ?? {},
        labels: {},
        anonymous: m.anonymous ?? false,
      });
      if (m.anonymous) made.push(v.name);
      Object.assign(c.mounts[i] as MountRecord, { source: v.name, driver: v.driver });
      await engine.state.containers.put(c.id, c);
    }
    return c;
  } catch (err) {
    await engine.state.containers.remove(c.id);
    await rm(dir, { recursive: true, force: true });
    for (const name of made) await volumes!.removeVolume(engine, name).catch((e: unknown) => engine.warn((e as Error).message));
    throw err;
  }
}
