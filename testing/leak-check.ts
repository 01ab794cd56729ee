/**
 * @module Finds what the suite left on the host and removes it, so a failed or killed test run never
 * leaves the machine dirty. It only ever looks at objects carrying the suite's prefixes, the kernel's from
 * the product's registry (common/names.ts: `ts…` links and namespaces, `TSNET-…` chains, `tsnet…` nft tables), `tstest…` docker objects and spec files, `/tmp/tstest-…`,
 * `/run/tsnet/`, `/var/lib/tsnet-test…` (mounts, loop devices), `tsnet/…` and `tstest-…` cgroups,
 * unreachable routes inside the test subnet ranges, xfrm states and policies of our reqid range); Docker's own objects (docker0, DOCKER chains) are
 * never touched. Run it only when no test is running: every such object counts as left over.
 */
import { createServer, type Server } from 'node:http';
import { mkdir, readdir, readFile, readlink, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { applyXfrm, listXfrm } from '../common/kernel/xfrm.js';
import { CGROUP_PARENT, deleteCgroup, listCgroups } from '../common/kernel/cgroup.js';
import { detachDevices, listLoops } from '../common/kernel/loop.js';
import { isUnder } from '../common/kernel/mount-info.js';
import { deleteNetns, listNetns, netnsPath } from '../common/kernel/netns.js';
import { cidrsOverlap, parseRouteDst, TEST_RANGE_V4, TEST_RANGE_V6 } from './kernel/subnets.js';
import { parseCidr } from '../common/addr/parse.js';
import { CHAIN_PREFIX, NFT_TABLE_PREFIX, SUITE_PREFIX } from '../common/names.js';
import { DOCKER_SPEC_DIR, pluginAnswers } from './docker/plugin-harness.js';
import { dockerAnswers, mountsMatching, mustRun, pollUntil, runUnlessGone, tryRun, unmountLazy } from './system.js';

/** One thing left behind, and how to remove it. `remove()` treats "already gone" as success. */
export interface Leak {
  kind: string;
  name: string;
  remove(): Promise<void>;
}

/** Options of {@link sweepLeaks}. */
export interface SweepOptions {
  /** Report only; remove nothing and start no stand-in plugin. */
  dryRun?: boolean;
  /** Only leaks whose `kind name` line contains this text (e.g. one run's hex id); all when omitted. */
  match?: string;
  /** Receives one line per leak (default: stdout). */
  log?: (line: string) => void;
}

/** What {@link sweepLeaks} saw: leaks found, and how many of them could not be removed or checked. */
export interface SweepResult {
  found: number;
  failed: number;
}

/** Mountpoints under these belong to the suite's tests. */
export const MOUNT_PREFIXES = ['/tmp/tstest-', '/run/tsnet/', '/var/lib/tsnet-test'];
const TMP_PREFIX = '/tmp/tstest-';
const DOCKER_PREFIX = 'tstest';
const DOCKER_TIMEOUT_MS = 90_000;

const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '');

// ---- docker ---------------------------------------------------------------------------------------

async function findDockerLeaks(match: string | undefined): Promise<Leak[]> {
  const docker = async (args: string[]) => lines((await mustRun(['docker', ...args], { timeoutMs: DOCKER_TIMEOUT_MS })).stdout);
  const ours = (...names: (string | undefined)[]) => names.some((n) => n?.startsWith(DOCKER_PREFIX));

  const netIds = await docker(['network', 'ls', '-q', '--no-trunc']);
  const nets = netIds.length === 0 ? [] : await docker(['network', 'inspect', '--format', '{{.Id}}\t{{.Name}}\t{{.Driver}}\t{{.IPAM.Driver}}', ...netIds]);
  const leakedNets = nets.map((l) => l.split('\t')).filter(([, name, driver, ipam]) => ours(name, driver, ipam));
  // Filtered by driver: a plain `volume ls` asks every v1 driver dockerd ever used, and each one whose
  // plugin is gone stalls it ~15 s; volumes of such drivers are not listed anyway.
  const specs = (await specFiles()).filter((f) => match === undefined || f.includes(match));
  const drivers = ['local', ...specs.map((f) => basename(f).replace(/\.(spec|json)$/, ''))];
  const driverFilters = drivers.flatMap((d) => ['--filter', `driver=${d}`]);
  const vols = (await docker(['volume', 'ls', ...driverFilters, '--format', '{{.Name}}\t{{.Driver}}'])).map((l) => l.split('\t'));
  const leakedVols = vols.filter(([name, driver]) => ours(name, driver));

  // Containers named tstest…, or attached to a leaked network or volume (which they would keep alive).
  const containers = new Map<string, string>();
  for (const line of await docker(['ps', '-a', '--no-trunc', '--format', '{{.ID}}\t{{.Names}}'])) {
    const [id = '', name] = line.split('\t');
    if (ours(name)) containers.set(id, name ?? '');
  }
  const filters = [...leakedNets.map(([id]) => `network=${id}`), ...leakedVols.map(([name]) => `volume=${name}`)];
  for (const filter of filters) {
    for (const line of await docker(['ps', '-a', '--no-trunc', '--filter', filter, '--format', '{{.ID}}\t{{.Names}}'])) {
      const [id = '', name] = line.split('\t');
      if (!containers.has(id)) containers.set(id, `${name} (uses ${filter})`);
    }
  }
  const dockerLeak = (kind: string, name: string, argv: string[], gone: RegExp): Leak => ({
    kind,
    name,
    remove: () => runUnlessGone(['docker', ...argv], gone, DOCKER_TIMEOUT_MS),
  });
  return [
    ...[...containers].map(([id, name]) => dockerLeak('docker container', `${id.slice(0, 12)} ${name}`, ['rm', '-f', '-v', id], /No such container/)),
    ...leakedNets.map(([id = '', name, driver, ipam]) =>
      dockerLeak('docker network', `${name} (driver ${driver}, ipam ${ipam})`, ['network', 'rm', id], /No such network|not found/),
    ),
    ...leakedVols.map(([name = '', driver]) => dockerLeak('docker volume', `${name} (driver ${driver})`, ['volume', 'rm', '-f', name], /No such volume/)),
  ];
}

/** Replies of the stand-in plugin; everything else gets `{}` (success). */
const STAND_IN_REPLIES: Record<string, unknown> = {
  'Plugin.Activate': { Implements: ['NetworkDriver', 'IpamDriver', 'VolumeDriver'] },
  'NetworkDriver.GetCapabilities': { Scope: 'local', ConnectivityScope: 'local' },
  'NetworkDriver.EndpointOperInfo': { Value: {} },
  'IpamDriver.GetDefaultAddressSpaces': { LocalDefaultAddressSpace: 'tstest-local', GlobalDefaultAddressSpace: 'tstest-global' },
  'VolumeDriver.Capabilities': { Capabilities: { Scope: 'local' } },
  'VolumeDriver.List': { Volumes: [] },
};

/**
 * dockerd cannot remove a network whose plugin is gone: it keeps calling the dead socket. For every
 * `tstest` spec file (containing `match`, if given) whose socket (under /tmp/tstest-) does not answer,
 * this serves a stand-in that says yes to everything while `fn` runs, then closes it and removes its socket.
 */
async function withStandInPlugins<T>(match: string | undefined, fn: () => Promise<T>): Promise<T> {
  const servers: { server: Server; path: string }[] = [];
  try {
    for (const spec of await specFiles()) {
      if (match !== undefined && !spec.includes(match)) continue;
      const path = /^unix:\/\/(\/.*)$/.exec((await readFile(spec, 'utf8').catch(() => '')).trim())?.[1];
      if (!path?.startsWith(TMP_PREFIX) || (await pluginAnswers(path))) continue;
      await mkdir(dirname(path), { recursive: true });
      await rm(path, { force: true });
      const server = createServer((req, res) => {
        req.resume().on('end', () => {
          res.writeHead(200, { 'Content-Type': 'application/vnd.docker.plugins.v1.1+json' });
          res.end(JSON.stringify(STAND_IN_REPLIES[(req.url ?? '/').slice(1)] ?? {}));
        });
      });
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(path, resolve));
      servers.push({ server, path });
    }
    return await fn();
  } finally {
    for (const { server, path } of servers) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await rm(path, { force: true });
    }
  }
}

// ---- processes ------------------------------------------------------------------------------------

async function procText(pid: number | string, file: string): Promise<string | undefined> {
  return readFile(`/proc/${pid}/${file}`, 'utf8').catch(() => undefined);
}

/** Pid of the parent of `pid`, from /proc/PID/stat (the field after the `)` of the command name). */
async function parentPid(pid: number): Promise<number | undefined> {
  const s = await procText(pid, 'stat');
  const ppid = s ? Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]) : NaN;
  return Number.isInteger(ppid) && ppid > 0 ? ppid : undefined;
}

/** Whether `pid` has exited (no such process, or a zombie waiting for its parent). */
export async function isGone(pid: number): Promise<boolean> {
  const s = await procText(pid, 'stat');
  return s === undefined || s.slice(s.lastIndexOf(')') + 2).startsWith('Z');
}

/** Every user-space process (kernel threads have an empty command line) with its argv. */
export async function listProcesses(): Promise<{ pid: number; argv: string[] }[]> {
  const out: { pid: number; argv: string[] }[] = [];
  for (const entry of await readdir('/proc')) {
    const pid = Number(entry);
    const raw = Number.isInteger(pid) ? await procText(pid, 'cmdline') : undefined;
    if (raw) out.push({ pid, argv: raw.split('\0').filter((a) => a !== '') });
  }
  return out;
}

/** This process and its ancestors (the shell and npm that started the check). */
async function selfAndAncestors(): Promise<Set<number>> {
  const pids = new Set<number>();
  for (let pid: number | undefined = process.pid; pid !== undefined && !pids.has(pid); pid = await parentPid(pid)) pids.add(pid);
  return pids;
}

/**
 * Pids of vitest and benchmark (`build/tools/bench/*.js`, see `npm run bench`) processes other than our ancestors: a test or bench run
 * is going on, whose objects look exactly like leftovers. The CLI then only reports (leak-check-cli.ts).
 */
export async function otherRuns(): Promise<number[]> {
  const spared = await selfAndAncestors();
  const isRun = (a: string) => /(^|\/)vitest(\.mjs)?$/.test(a) || a.includes('/node_modules/vitest/') || /(^|\/)build\/tools\/bench\/[^/]+\.js$/.test(a);
  return (await listProcesses()).filter((p) => !spared.has(p.pid) && p.argv.slice(0, 3).some(isRun)).map((p) => p.pid);
}

/** Cgroup paths of the suite: engine-lite's parent and the kernel tests' `tstest-…` groups. */
const CGROUP_PREFIXES = [`/${CGROUP_PARENT}/`, '/tstest-'];

/**
 * Processes of the suite: a command line mentioning /tmp/tstest- (plugin processes the harness started),
 * a root directory inside /tmp/tstest- or /run/tsnet/ (engine-lite containers), a network namespace
 * that is one of our named `ts…` namespaces, or a cgroup of ours. Never this process or its ancestors.
 */
async function findProcessLeaks(): Promise<Leak[]> {
  const spared = await selfAndAncestors();
  const ourNetns = new Map<number, string>(); // namespace inode → name
  for (const ns of await listNetns(SUITE_PREFIX)) {
    const st = await stat(netnsPath(ns)).catch(() => undefined);
    if (st) ourNetns.set(st.ino, ns);
  }
  const leaks: Leak[] = [];
  for (const { pid, argv } of await listProcesses()) {
    if (spared.has(pid)) continue;
    const cmdline = argv.join(' ');
    const root = await readlink(`/proc/${pid}/root`).catch(() => '/');
    const netIno = (await stat(`/proc/${pid}/ns/net`).catch(() => undefined))?.ino;
    const cgroup = lines((await procText(pid, 'cgroup')) ?? '')
      .map((l) => l.slice(l.indexOf(':', l.indexOf(':') + 1) + 1))
      .find((path) => CGROUP_PREFIXES.some((p) => path.startsWith(p)));
    const why = cmdline.includes(TMP_PREFIX)
      ? 'command line'
      : root.startsWith(TMP_PREFIX) || root.startsWith('/run/tsnet/')
        ? `root ${root}`
        : netIno !== undefined && ourNetns.has(netIno)
          ? `in netns ${ourNetns.get(netIno)}`
          : cgroup
            ? `in cgroup ${cgroup}`
            : undefined;
    if (!why) continue;
    leaks.push({
      kind: 'process',
      name: `${pid} ${cmdline.slice(0, 120)} (${why})`,
      async remove() {
        const kill = (sig: NodeJS.Signals) => {
          try {
            process.kill(pid, sig);
          } catch {
            // already gone
          }
        };
        kill('SIGTERM'); // lets a plugin remove its sockets
        if (await pollUntil(() => isGone(pid), { timeoutMs: 3_000, intervalMs: 100 })) return;
        kill('SIGKILL');
        if (!(await pollUntil(() => isGone(pid), { timeoutMs: 3_000, intervalMs: 100 }))) throw new Error('still running after SIGKILL');
      },
    });
  }
  return leaks;
}

/** Engine-lite's groups below `tsnet/`, and `tstest-…` groups at the hierarchy roots (kernel tests). */
async function findCgroupLeaks(): Promise<Leak[]> {
  const engine = (await listCgroups('')).map((name) => ({
    kind: 'cgroup',
    name: `${CGROUP_PARENT}/${name}`,
    remove: () => deleteCgroup(name), // kills what still runs in it first
  }));
  const tests = (await listCgroups('tstest-', { parent: '' })).map((name) => ({
    kind: 'cgroup',
    name,
    remove: () => deleteCgroup(name, { parent: '' }),
  }));
  return [...engine, ...tests];
}

// ---- files and mounts -----------------------------------------------------------------------------

async function specFiles(): Promise<string[]> {
  const names = await readdir(DOCKER_SPEC_DIR).catch(() => []);
  return names.filter((n) => n.startsWith(DOCKER_PREFIX)).map((n) => join(DOCKER_SPEC_DIR, n));
}

async function findSpecFileLeaks(): Promise<Leak[]> {
  return (await specFiles()).map((path) => ({ kind: 'plugin spec', name: path, remove: () => rm(path, { force: true }) }));
}

/** Name prefixes: `/tmp/tstest-` matches `/tmp/tstest-1f/x`; `/run/tsnet/` also matches `/run/tsnet`. */
const hasPrefix = (path: string, prefix: string) => path.startsWith(prefix) || `${path}/` === prefix;

async function findMountLeaks(): Promise<Leak[]> {
  const ours = await mountsMatching((mp) => MOUNT_PREFIXES.some((p) => hasPrefix(mp, p)));
  return ours.map((mp) => ({ kind: 'mount', name: mp, remove: () => unmountLazy(mp) }));
}

/**
 * A test volume's image as a managed plugin attached it: the host sees that backing file relative to
 * the plugin's state bind mount, `/volume/volumes/<name>/…` (`.trash-<name>-…` once removed), and
 * test volumes are named `tstest…`.
 */
const PLUGIN_TEST_IMAGE = /^\/volume\/volumes\/(\.trash-)?tstest[^/]*\//;

/**
 * Loop devices whose backing file lies under one of {@link MOUNT_PREFIXES} (size-limited volumes), or
 * is a test volume's image attached inside a managed plugin.
 */
async function findLoopLeaks(): Promise<Leak[]> {
  const loops = (await listLoops()).filter((l) => MOUNT_PREFIXES.some((p) => hasPrefix(l.backingFile, p)) || PLUGIN_TEST_IMAGE.test(l.backingFile));
  return loops.map((l) => ({
    kind: 'loop device',
    name: `${l.device} ${l.backingFile}${l.deleted ? ' (deleted)' : ''}`,
    remove: async () => void (await detachDevices([l])),
  }));
}

async function findTempDirLeaks(): Promise<Leak[]> {
  const names = (await readdir('/tmp').catch(() => [])).filter((n) => `/tmp/${n}`.startsWith(TMP_PREFIX));
  return names.map((n) => {
    const path = `/tmp/${n}`;
    return {
      kind: 'temp dir',
      name: path,
      async remove() {
        // rm would descend into anything still mounted below and delete its contents.
        const mounted = await mountsMatching((mp) => isUnder(mp, path));
        if (mounted.length > 0) throw new Error(`still mounted below it: ${mounted.join(', ')}`);
        await rm(path, { recursive: true, force: true });
      },
    };
  });
}

// ---- network --------------------------------------------------------------------------------------

async function findNetnsLeaks(): Promise<Leak[]> {
  return (await listNetns(SUITE_PREFIX)).map((ns) => ({ kind: 'netns', name: ns, remove: () => deleteNetns(ns) }));
}

async function findLinkLeaks(): Promise<Leak[]> {
  const links = JSON.parse((await mustRun(['ip', '-j', 'link', 'show'])).stdout || '[]') as { ifname: string }[];
  return links
    .filter((l) => l.ifname.startsWith(SUITE_PREFIX))
    .map((l) => ({
      kind: 'link',
      name: l.ifname,
      // Deleting one end of a veth deletes the other, so a later "Cannot find device" is fine.
      remove: () => runUnlessGone(['ip', 'link', 'del', 'dev', l.ifname], /Cannot find device|does not exist/),
    }));
}

/** Encrypted overlays' IPsec objects in this namespace (reqid REQID_BASE | VNI); the simulated hosts' go with their namespaces. */
async function findXfrmLeaks(): Promise<Leak[]> {
  const { states, policies } = await listXfrm();
  return [
    ...policies.map((policy) => ({ kind: 'xfrm policy', name: `${policy.dir} ${policy.src}>${policy.dst}:${policy.dport} reqid ${policy.reqid}`, remove: () => applyXfrm([{ del: 'policy', policy }]) })),
    ...states.map((state) => ({ kind: 'xfrm state', name: `${state.src}>${state.dst} spi ${state.spi} reqid ${state.reqid}`, remove: () => applyXfrm([{ del: 'state', state }]) })),
  ];
}

async function findRouteLeaks(): Promise<Leak[]> {
  const leaks: Leak[] = [];
  for (const [flag, range] of [['-4', TEST_RANGE_V4], ['-6', TEST_RANGE_V6]] as const) {
    const r = parseCidr(range)!;
    const routes = JSON.parse((await mustRun(['ip', '-j', flag, 'route', 'show', 'type', 'unreachable'])).stdout || '[]') as { dst?: string }[];
    for (const { dst } of routes) {
      const c = dst ? parseRouteDst(dst) : undefined;
      if (!dst || !c || c.prefixLen < r.prefixLen || !cidrsOverlap(c, r)) continue;
      leaks.push({
        kind: 'route',
        name: `unreachable ${dst}`,
        remove: () => runUnlessGone(['ip', flag, 'route', 'del', 'unreachable', dst], /No such process/),
      });
    }
  }
  return leaks;
}

/** Splits one line of `iptables -S` into arguments (it double-quotes those with spaces). */
export function splitRuleArgs(rule: string): string[] {
  const args: string[] = [];
  for (const m of rule.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) args.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!);
  return args;
}

const FIREWALL_TABLES = ['filter', 'nat', 'mangle', 'raw', 'security'];

/** Our chains ({@link CHAIN_PREFIX}) in every iptables/ip6tables table, rules in other chains that jump to them, and our nft tables. */
async function findFirewallLeaks(): Promise<Leak[]> {
  const jumps: Leak[] = [];
  const chains: Leak[] = [];
  for (const bin of ['iptables', 'ip6tables']) {
    for (const table of FIREWALL_TABLES) {
      const r = await tryRun([bin, '-w', '-t', table, '-S']);
      if (r.code !== 0) continue; // tool or table not available
      const ours = new Set<string>();
      for (const line of lines(r.stdout)) {
        const args = splitRuleArgs(line);
        if (args[0] === '-N' && args[1]?.startsWith(CHAIN_PREFIX)) ours.add(args[1]);
        const target = args[args.findIndex((a) => a === '-j' || a === '-g') + 1];
        if (args[0] === '-A' && !args[1]?.startsWith(CHAIN_PREFIX) && target?.startsWith(CHAIN_PREFIX)) {
          jumps.push({
            kind: bin,
            name: `-t ${table} ${line}`,
            remove: () => runUnlessGone([bin, '-w', '-t', table, '-D', ...args.slice(1)], /does a matching rule exist|No chain|Bad rule/),
          });
        }
      }
      for (const chain of ours) {
        chains.push({
          kind: bin,
          name: `-t ${table} chain ${chain}`,
          async remove() {
            // Flush every chain of ours first, so jumps between them do not block the delete.
            for (const c of ours) await runUnlessGone([bin, '-w', '-t', table, '-F', c], /No chain|does not exist/);
            await runUnlessGone([bin, '-w', '-t', table, '-X', chain], /No chain|does not exist/);
          },
        });
      }
    }
  }
  const nft = await tryRun(['nft', 'list', 'tables']);
  const tables = nft.code === 0 ? lines(nft.stdout).map((l) => l.trim().split(/\s+/)) : [];
  const nftLeaks = tables
    .filter(([word, , name]) => word === 'table' && name?.toLowerCase().startsWith(NFT_TABLE_PREFIX))
    .map(([, family = '', name = '']) => ({
      kind: 'nft table',
      name: `${family} ${name}`,
      remove: () => runUnlessGone(['nft', 'delete', 'table', family, name], /No such file/),
    }));
  return [...jumps, ...chains, ...nftLeaks];
}

// ---- sweep ----------------------------------------------------------------------------------------

/** The groups after docker, in removal order: each removal makes the next one possible or simpler. */
const HOST_GROUPS: readonly [string, () => Promise<Leak[]>][] = [
  ['processes', findProcessLeaks],
  ['cgroups', findCgroupLeaks],
  ['plugin spec files', findSpecFileLeaks],
  ['mounts', findMountLeaks],
  ['loop devices', findLoopLeaks],
  ['network namespaces', findNetnsLeaks],
  ['links', findLinkLeaks],
  ['firewall', findFirewallLeaks],
  ['xfrm', findXfrmLeaks],
  ['routes', findRouteLeaks],
  ['temp dirs', findTempDirLeaks],
];

/**
 * Finds and (unless `dryRun`) removes every leftover of the suite, group by group in an order where
 * each removal helps the next: docker objects (through their plugins while those still run), processes,
 * cgroups, spec files, mounts, loop devices, namespaces, links, firewall, xfrm, routes, temp dirs. Logs one
 * line per leak. Never throws: a group it cannot check counts in `failed`.
 */
export async function sweepLeaks(opts: SweepOptions = {}): Promise<SweepResult> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const result: SweepResult = { found: 0, failed: 0 };
  const handle = async (group: string, find: () => Promise<Leak[]>) => {
    let leaks: Leak[];
    try {
      leaks = await find();
    } catch (err) {
      result.failed++;
      log(`leak check: could not check ${group}: ${(err as Error).message}`);
      return;
    }
    for (const leak of leaks) {
      if (opts.match !== undefined && !`${leak.kind} ${leak.name}`.includes(opts.match)) continue;
      result.found++;
      if (opts.dryRun) {
        log(`leak ${leak.kind} ${leak.name}: kept (dry run)`);
        continue;
      }
      try {
        await leak.remove();
        log(`leak ${leak.kind} ${leak.name}: removed`);
      } catch (err) {
        result.failed++;
        log(`leak ${leak.kind} ${leak.name}: NOT removed: ${(err as Error).message}`);
      }
    }
  };
  if (await dockerAnswers()) {
    const docker = () => handle('docker', () => findDockerLeaks(opts.match));
    try {
      await (opts.dryRun ? docker() : withStandInPlugins(opts.match, docker));
    } catch (err) {
      result.failed++;
      log(`leak check: could not serve stand-in plugins: ${(err as Error).message}`);
    }
  }
  for (const [group, find] of HOST_GROUPS) await handle(group, find);
  return result;
}
