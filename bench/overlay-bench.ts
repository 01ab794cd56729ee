/**
 * @module Overlay benchmark: tsnet `mode=overlay` across two simulated hosts (testing/cluster/multihost.ts:
 * network namespaces on an underlay bridge, MTU 1400, etcd, a `tsnet serve --cluster-store …` and an
 * engine-lite per host), in one run:
 *  traffic      TCP throughput (iperf3) and ICMP round trip (busybox ping) from a container on host 1 to
 *               one on host 2, over the tsnet overlay and over a raw kernel VXLAN made by hand between
 *               the same two host namespaces, the two alternating round by round;
 *  convergence  from the start of `engine-lite run -d` of a container on host 1 (at an address chosen
 *               with `--ip` in the cluster pool) to the first ping reply a container on host 2 gets from
 *               it; beside it how long the `run -d` itself took, and when a container on host 1 got its
 *               first reply (no other host involved), so that the difference is the crossing to host 2.
 * Prints tables, then one JSON line. Needs root. Removes everything it made, also on failure. Every
 * packet stays in the cluster's namespaces, which have no default route.
 *
 * The raw baseline repeats the overlay's datapath without tsnet: per host a container of engine-lite
 * with no network (`--network none`), a veth from it to a plain Linux bridge, and on that bridge a VXLAN
 * device (another VNI, UDP port 4790) with learning off and ARP proxy on, a static FDB entry for the
 * other container's MAC and a neighbour entry for its address: the same objects tsnet programs, made
 * with `ip`/`bridge`, at the overlay's MTU. Addressing the VXLAN devices directly would leave out the
 * veth and bridge hops and the namespace crossing that any container on any overlay pays, and the ratio
 * would then charge tsnet for the container model rather than for what tsnet adds (its bridge settings,
 * firewall rules, how it programs the entries).
 *
 * Convergence: each pinger is a busybox ping every 5 ms in its container's namespace, its lines read as
 * they come. Each start uses a fresh address, and the pingers' namespaces retry ARP every few ms
 * (`retrans_time_ms=5`, default 1000): with the default a container that asks before the entries exist
 * waits for its own next ARP retry, up to a second, which is the container kernel's back-off and not
 * the overlay's convergence.
 *
 *   npm run bench -- overlay-bench [--seconds 5] [--rounds 3] [--convergence 30]
 */
import { parseArgs } from 'node:util';
import { formatIp, parseCidr } from '../common/addr/parse.js';
import { start } from '../common/kernel/exec.js';
import { overlaySubnets, startCluster, type Cluster, type SimHost } from '../testing/cluster/multihost.js';
import { mustRun, tryRun } from '../testing/system.js';
import { interleaved, median, pingMedianMs, ratio, throughputGbps } from '../testing/measure/bridge-measure.js';
import { percentile, printTable } from '../testing/measure/stats.js';

const { values: opt } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    convergence: { type: 'string', default: '30' },
  },
});
const SECONDS = Number(opt.seconds);
const ROUNDS = Number(opt.rounds);
const STARTS = Number(opt.convergence);
/** Convergence addresses are `.100` on, one per start, so no neighbour entry is left from an earlier one. */
const FIRST_CONVERGENCE_HOST = 100;
if (!(STARTS >= 1 && STARTS <= 250 - FIRST_CONVERGENCE_HOST)) throw new RangeError(`--convergence must be 1 to ${250 - FIRST_CONVERGENCE_HOST}`);

const OVERLAY = { name: 'ov', vni: 4242 };
const RAW = { vni: 4343, port: 4790, bridge: 'tsqbr0', vxlan: 'tsqvx0', veth: 'tsqh0' };
const PINGS = 400;

const at = (subnet: string, host: number) => formatIp(4, parseCidr(subnet)!.addr + BigInt(host));
const inNetns = (pid: number, argv: string[]) => ['nsenter', '-t', String(pid), '-n', ...argv];

/** engine-lite `ARGS…` in `host`; its trimmed stdout, or a rejection with its output. */
async function engineOk(host: SimHost, args: string[]): Promise<string> {
  const r = await host.engine(args);
  if (r.code !== 0) throw new Error(`${host.name}: engine-lite ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return r.stdout.trim();
}

const pidOf = async (host: SimHost, name: string) => Number(await engineOk(host, ['inspect', '-f', '{{.State.Pid}}', name]));

/** One side of a path: a container's namespace (by PID) and its address. */
interface End {
  pid: number;
  ip: string;
}

/** A container-to-container path from host 1 (client) to host 2 (server). */
interface Path {
  label: 'tsnet' | 'raw';
  client: End;
  server: End;
}

/** Containers `c1` (host 1) and `c2` (host 2) on the overlay at `.11` and `.10`. */
async function overlayPath(cluster: Cluster, subnet: string): Promise<Path> {
  const [h1, h2] = cluster.hosts as [SimHost, SimHost];
  for (const host of cluster.hosts) {
    await engineOk(host, ['network', 'create', '-d', 'tsnet', '-o', 'mode=overlay', '-o', `vni=${OVERLAY.vni}`, '--ipam-driver', 'tsipam', '--ipam-opt', 'cluster=true', '--subnet', subnet, OVERLAY.name]);
  }
  const start = async (host: SimHost, name: string, ip: string): Promise<End> => {
    await engineOk(host, ['run', '-d', '--name', name, '--network', OVERLAY.name, '--ip', ip, cluster.image, 'sleep', '86400']);
    return { pid: await pidOf(host, name), ip };
  };
  return { label: 'tsnet', client: await start(h1, 'c1', at(subnet, 11)), server: await start(h2, 'c2', at(subnet, 10)) };
}

/** `02:74:71:00:00:0n`, the raw stand-in container's MAC on host n. */
const rawMac = (host: SimHost) => `02:74:71:00:00:${host.index.toString(16).padStart(2, '0')}`;

/**
 * The raw baseline of host `host` towards `peer` (see the module comment): a container `r<n>` with no
 * network, a veth into it as `eth0` at `ip`, and the bridge and VXLAN device in the host namespace with
 * the static entries for the peer's container (`peerIp`). The links are deleted at cluster teardown.
 */
async function rawEnd(cluster: Cluster, host: SimHost, peer: SimHost, ip: string, peerIp: string, mtu: number): Promise<End> {
  const name = `r${host.index}`;
  await engineOk(host, ['run', '-d', '--name', name, cluster.image, 'sleep', '86400']);
  const pid = await pidOf(host, name);
  const ipIn = (...args: string[]) => mustRun(['ip', '-n', host.netns, ...args]);
  host.defer(async () => {
    for (const dev of [RAW.veth, RAW.vxlan, RAW.bridge]) await tryRun(['ip', '-n', host.netns, 'link', 'del', dev]);
  });
  const m = String(mtu);
  await ipIn('link', 'add', RAW.bridge, 'mtu', m, 'type', 'bridge');
  await ipIn('link', 'add', RAW.vxlan, 'mtu', m, 'type', 'vxlan', 'id', String(RAW.vni), 'local', host.ip, 'dstport', String(RAW.port), 'nolearning', 'proxy');
  await ipIn('link', 'add', RAW.veth, 'mtu', m, 'type', 'veth', 'peer', 'name', 'eth0', 'mtu', m, 'address', rawMac(host), 'netns', String(pid));
  for (const dev of [RAW.vxlan, RAW.veth]) await ipIn('link', 'set', dev, 'master', RAW.bridge, 'up');
  await ipIn('link', 'set', RAW.bridge, 'up');
  await mustRun(['bridge', '-n', host.netns, 'fdb', 'append', rawMac(peer), 'dev', RAW.vxlan, 'dst', peer.ip, 'self', 'permanent']);
  await ipIn('neigh', 'add', peerIp, 'lladdr', rawMac(peer), 'dev', RAW.vxlan, 'nud', 'permanent');
  await mustRun(inNetns(pid, ['ip', 'addr', 'add', `${ip}/24`, 'dev', 'eth0']));
  await mustRun(inNetns(pid, ['ip', 'link', 'set', 'eth0', 'up']));
  return { pid, ip };
}

async function rawPath(cluster: Cluster, subnet: string, mtu: number): Promise<Path> {
  const [h1, h2] = cluster.hosts as [SimHost, SimHost];
  const [ip1, ip2] = [at(subnet, 11), at(subnet, 10)];
  return { label: 'raw', client: await rawEnd(cluster, h1, h2, ip1, ip2, mtu), server: await rawEnd(cluster, h2, h1, ip2, ip1, mtu) };
}

async function trafficCase(paths: Path[], mtu: number) {
  for (const p of paths) await pingMedianMs(p.client.pid, p.server.ip, 5); // ARP, caches
  const gbps = await interleaved(paths, ROUNDS, (p) => throughputGbps(p.server.pid, p.server.ip, p.client.pid, SECONDS));
  const rttUs = await interleaved(paths, ROUNDS, async (p) => (await pingMedianMs(p.client.pid, p.server.ip, PINGS)) * 1000);
  const rows = paths.map((p) => ({ path: p.label, mtu, rounds: ROUNDS, gbit_s_median: median(gbps[p.label]!), rtt_us_median: median(rttUs[p.label]!) }));
  printTable(`container on host 1 → container on host 2 (iperf3 ${SECONDS} s; median of ${PINGS} pings), alternating`, rows);
  const vsRaw = {
    throughput_ratio: ratio(median(gbps['tsnet']!), median(gbps['raw']!)),
    // Lower latency is better: raw / tsnet, so that ≥ 1 means tsnet is at least as fast.
    latency_speed_ratio: ratio(median(rttUs['raw']!), median(rttUs['tsnet']!)),
  };
  printTable('tsnet / raw VXLAN (≥ 1: tsnet at least as fast)', [vsRaw]);
  return { rows, samples: { gbps, rttUs }, vs_raw: vsRaw };
}

/**
 * A busybox ping every 5 ms from the namespace of `pid` to `ip`: `started` resolves once the process
 * runs (busybox flushes its header only with the first reply), `firstReply` with the `performance.now()`
 * at which its first reply line was read; both reject if ping exits first, `firstReply` also after
 * `timeoutMs`.
 */
function pinger(pid: number, ip: string, timeoutMs: number) {
  const child = start(inNetns(pid, ['busybox', 'ping', '-i', '0.005', ip]), { stdout: 'pipe', stderr: 'ignore' });
  let out = '';
  const exited = child.done.then(({ code }) => Promise.reject(new Error(`ping ${ip} exited (${code}): ${out}`)));
  // A pid means the program runs; without one it could not start and `exited` says why.
  const started = child.pid !== undefined ? Promise.resolve() : exited.then(() => undefined);
  const reply = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no reply from ${ip} within ${timeoutMs} ms`)), timeoutMs);
    void child.done.then(() => clearTimeout(timer));
    child.stdout!.on('data', (chunk: Buffer) => {
      const now = performance.now();
      out += chunk.toString();
      if (/bytes from/.test(out)) {
        clearTimeout(timer);
        resolve(now);
      }
    });
  });
  const firstReply = Promise.race([exited, reply]);
  // Whoever awaits them sees the failure; until then it must not count as unhandled.
  for (const p of [started, reply, firstReply]) p.catch(() => {});
  return { started, firstReply, stop: () => void child.kill() };
}

/**
 * Starts and removes `STARTS` containers on host 1 while the overlay's containers ping each one's
 * address: `remote` on host 2 (the convergence) and `local` on host 1, whose reply needs no other host,
 * so that the difference is what crossing to host 2 (etcd, its plugin programming the entries) adds.
 */
async function convergenceCase(cluster: Cluster, subnet: string, pingers: { local: number; remote: number }) {
  const h1 = cluster.hosts[0]!;
  for (const pid of Object.values(pingers)) await mustRun(inNetns(pid, ['sysctl', '-qw', 'net.ipv4.neigh.eth0.retrans_time_ms=5']));
  const s = { remote: [] as number[], local: [] as number[], crossing: [] as number[], run: [] as number[], afterRun: [] as number[] };
  for (let i = 0; i < STARTS; i++) {
    const ip = at(subnet, FIRST_CONVERGENCE_HOST + i);
    const name = `conv${i}`;
    const remote = pinger(pingers.remote, ip, 15_000);
    const local = pinger(pingers.local, ip, 15_000);
    try {
      await Promise.all([remote.started, local.started]);
      const t0 = performance.now();
      await engineOk(h1, ['run', '-d', '--name', name, '--network', OVERLAY.name, '--ip', ip, cluster.image, 'sleep', '86400']);
      const ran = performance.now();
      const [atRemote, atLocal] = await Promise.all([remote.firstReply, local.firstReply]);
      s.remote.push(atRemote - t0);
      s.local.push(atLocal - t0);
      s.crossing.push(atRemote - atLocal);
      s.run.push(ran - t0);
      s.afterRun.push(atRemote - ran);
    } finally {
      remote.stop();
      local.stop();
      await h1.engine(['rm', '-f', name]);
    }
  }
  const row = (span: string, x: number[]) => ({ span, starts: STARTS, p50_ms: percentile(x, 50), p90_ms: percentile(x, 90), p99_ms: percentile(x, 99), max_ms: percentile(x, 100) });
  const rows = [
    row('run -d start → first reply on host 2', s.remote),
    row('run -d itself', s.run),
    row('run -d exit → first reply on host 2 (< 0: before the exit)', s.afterRun),
    row('run -d start → first reply on host 1 (same host)', s.local),
    row('reply on host 2 − reply on host 1', s.crossing),
  ];
  printTable('convergence: a container started on host 1, pinged every 5 ms from containers on hosts 2 and 1', rows);
  return { rows, samples: s };
}

async function main(): Promise<void> {
  const cluster = await startCluster({ hosts: 2, etcd: true, only: ['network', 'ipam'] });
  // Interrupted (Ctrl-C, a timeout's SIGTERM): the cluster goes all the same.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void cluster.stop().finally(() => process.exit(130)));
  const results: Record<string, unknown> = {};
  try {
    const [overlaySubnet, rawSubnet] = await overlaySubnets(cluster, 4, 2);
    const overlay = await overlayPath(cluster, overlaySubnet!);
    const mtu = Number((await cluster.hosts[0]!.exec('c1', 'cat', '/sys/class/net/eth0/mtu')).stdout.trim());
    const raw = await rawPath(cluster, rawSubnet!, mtu);
    results['traffic'] = await trafficCase([overlay, raw], mtu);
    results['convergence'] = await convergenceCase(cluster, overlaySubnet!, { local: overlay.client.pid, remote: overlay.server.pid });
  } finally {
    await cluster.stop();
  }
  console.log(JSON.stringify({ bench: 'overlay', host: { seconds: SECONDS, rounds: ROUNDS, convergence: STARTS }, results }));
}

await main();
