/**
 * Bridge benchmark: tsnet `mode=bridge` beside Docker's built-in `bridge` driver, in one run, on the
 * same dockerd. Cases (`--only` picks some):
 *  run      `docker run --rm --network N IMAGE true`, the drivers interleaved round by round;
 *  create   `docker network create` with 1 network of that driver and with `--networks` (250) of them;
 *  traffic  TCP throughput (iperf3) and ICMP round trip (busybox ping) between two containers, run in
 *           their namespaces with nsenter, the drivers alternating;
 *  ports    publishing cost: the plugin's ProgramExternalConnectivity for the 1st … `--ports`th (1,000th)
 *           port, and `docker run -p` with 0 and with `--ports`−1 ports already published, both drivers.
 * Prints tables, then one JSON line. Removes everything it made, also on failure. Needs root and dockerd.
 * Traffic stays between containers on one host bridge; nothing is sent to the uplink.
 *
 *   npm run bench -- bridge-bench [--runs 15] [--networks 250] [--ports 1000] [--iperf-seconds 5] [--rounds 3] [--only run,create,traffic,ports]
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { formatIp, parseCidr } from '../common/addr/parse.js';
import { freeSubnets } from '../testing/kernel/subnets.js';
import { dockerOk, startSuite, type SuiteHandle } from '../testing/docker/plugin-harness.js';
import { ensureTestImage } from '../testing/system.js';
import {
  containerPid,
  dockerQuiet,
  interleaved,
  median,
  pingMedianMs,
  ratio,
  throughputGbps,
  timeDocker,
  timePluginCall,
} from '../testing/measure/bridge-measure.js';
import { percentile, printTable } from '../testing/measure/stats.js';

const { values: opt } = parseArgs({
  options: {
    runs: { type: 'string', default: '15' },
    networks: { type: 'string', default: '250' },
    ports: { type: 'string', default: '1000' },
    'iperf-seconds': { type: 'string', default: '5' },
    rounds: { type: 'string', default: '10' },
    only: { type: 'string', default: 'run,create,traffic,ports' },
  },
});
const RUNS = Number(opt.runs);
const NETWORKS = Number(opt.networks);
const PORTS = Number(opt.ports);
const IPERF_SECONDS = Number(opt['iperf-seconds']);
const ROUNDS = Number(opt.rounds);
const ONLY = new Set(opt.only.split(','));

interface Driver {
  label: 'tsnet' | 'builtin';
  driver: string;
}

/** What the cases share: the drivers, a network of each, subnets to hand out, and what to remove at the end. */
interface Bench {
  suite: SuiteHandle;
  image: string;
  drivers: Driver[];
  /** One network per driver (label → name, subnet), made first. */
  base: Record<Driver['label'], { name: string; subnet: string }>;
  subnet(): string;
  /** docker argv lists run in reverse at the end (rm containers, then networks). */
  undo: string[][];
}

const tag = randomBytes(3).toString('hex');
const name = (what: string) => `tstest-bb${tag}-${what}`;
const at = (subnet: string, host: number) => formatIp(4, parseCidr(subnet)!.addr + BigInt(host));

async function network(b: Bench, d: Driver, what: string, subnet = b.subnet()): Promise<string> {
  const n = name(`${d.label}-${what}`);
  await dockerOk(['network', 'create', '-d', d.driver, '--subnet', subnet, n]);
  b.undo.push(['network', 'rm', n]);
  return n;
}

async function container(b: Bench, net: string, what: string, args: string[] = []): Promise<string> {
  const c = name(what);
  b.undo.push(['rm', '-f', c]);
  await dockerOk(['run', '-d', '--name', c, '--network', net, ...args, b.image, 'sleep', '3600']);
  return c;
}

async function runCase(b: Bench) {
  const cmd = (d: Driver) => ['run', '--rm', '--network', b.base[d.label].name, b.image, 'true'];
  await interleaved(b.drivers, 2, (d) => timeDocker(cmd(d))); // warm-up
  const s = await interleaved(b.drivers, RUNS, (d) => timeDocker(cmd(d)));
  const rows = b.drivers.map((d) => ({ driver: d.label, runs: RUNS, p50_ms: median(s[d.label]!), p90_ms: percentile(s[d.label]!, 90) }));
  printTable('docker run --rm --network X IMAGE true', rows);
  return { rows, ratio_p50: ratio(median(s['tsnet']!), median(s['builtin']!)) };
}

/** Milliseconds the plugin itself spent on CreateNetwork for `networkId`, from its request log. */
function pluginCreateMs(b: Bench, networkId: string): number | undefined {
  const line = b.suite
    .logs()
    .split('\n')
    .find((l) => l.includes('"call":"NetworkDriver.CreateNetwork"') && l.includes(`"NetworkID":"${networkId.slice(0, 12)}"`));
  return line ? (JSON.parse(line) as { ms: number }).ms : undefined;
}

/** `docker network create`: its ID, how long dockerd took, and (tsnet) how long the plugin took inside that. */
async function createTimed(b: Bench, d: Driver, n: string, subnet: string) {
  const t0 = performance.now();
  const id = (await dockerOk(['network', 'create', '-d', d.driver, '--subnet', subnet, n])).stdout.trim();
  return { id, dockerMs: performance.now() - t0, pluginMs: pluginCreateMs(b, id) };
}

/**
 * `docker network create` of a driver with 1 network of it and with NETWORKS: one driver at a time, so
 * neither pays for the other's networks (Docker's iptables rules slow every dockerd call). The samples
 * at 1 are taken before the fill and again after the drain, so slow drift of the host's load cancels.
 * For tsnet the plugin's own time of every create (its request log) shows whether N+1 costs more than 1.
 */
async function createCase(b: Bench) {
  const rows: Record<string, string | number>[] = [];
  for (const d of b.drivers) {
    const subnet = b.subnet();
    const sample = async (into: { docker: number[]; plugin: number[] }) => {
      for (let i = 0; i < RUNS; i++) {
        const made = await createTimed(b, d, name(`${d.label}-sample`), subnet);
        into.docker.push(made.dockerMs);
        if (made.pluginMs !== undefined) into.plugin.push(made.pluginMs);
        await dockerOk(['network', 'rm', made.id]);
      }
      return into;
    };
    const atOne = await sample({ docker: [], plugin: [] });
    const fill: { id: string; pluginMs?: number | undefined }[] = [];
    const t0 = performance.now();
    let atMany = { docker: [] as number[], plugin: [] as number[] };
    try {
      for (let i = 1; i < NETWORKS; i++) fill.push(await createTimed(b, d, name(`${d.label}-fill${i}`), b.subnet()));
      atMany = await sample(atMany);
    } finally {
      for (const n of fill) await dockerQuiet(['network', 'rm', n.id]);
    }
    const fillS = Math.round((performance.now() - t0) / 100) / 10;
    await sample(atOne);
    const seq = fill.flatMap((f) => (f.pluginMs === undefined ? [] : [f.pluginMs]));
    const plugin = (x: number[]) => (x.length > 0 ? median(x) : '-');
    rows.push({
      driver: d.label,
      p50_ms_at_1: median(atOne.docker),
      [`p50_ms_at_${NETWORKS}`]: median(atMany.docker),
      ratio: ratio(median(atMany.docker), median(atOne.docker)),
      plugin_p50_ms_at_1: plugin(atOne.plugin),
      [`plugin_p50_ms_at_${NETWORKS}`]: plugin(atMany.plugin),
      plugin_fill_first_20: plugin(seq.slice(0, 20)),
      plugin_fill_last_20: plugin(seq.slice(-20)),
      [`fill_and_drain_s`]: fillS,
    });
  }
  printTable(`docker network create, with 1 and with ${NETWORKS} networks of the driver (one driver at a time)`, rows);
  return { rows };
}

/**
 * Two containers per network; iperf3 and ping between them, the networks alternating. Besides the two
 * drivers' defaults (tsnet takes the uplink's MTU, Docker 1500) a Docker network at tsnet's MTU shows
 * the datapaths at equal MTU.
 */
async function trafficCase(b: Bench) {
  const paths: { label: string; net: string; subnet: string }[] = b.drivers.map((d) => ({ label: d.label, net: b.base[d.label].name, subnet: b.base[d.label].subnet }));
  const pids: Record<string, { server: number; client: number; ip: string; mtu: number }> = {};
  const start = async (p: { label: string; net: string; subnet: string }) => {
    const server = await container(b, p.net, `${p.label}-srv`, ['--ip', at(p.subnet, 10)]);
    const client = await container(b, p.net, `${p.label}-cli`, ['--ip', at(p.subnet, 11)]);
    const mtu = Number((await dockerOk(['exec', client, 'cat', '/sys/class/net/eth0/mtu'])).stdout.trim());
    pids[p.label] = { server: await containerPid(server), client: await containerPid(client), ip: at(p.subnet, 10), mtu };
  };
  for (const p of paths) await start(p);
  const same = { label: `builtin-mtu${pids['tsnet']!.mtu}`, net: '', subnet: b.subnet() };
  same.net = name('builtin-samemtu');
  await dockerOk(['network', 'create', '-d', 'bridge', '-o', `com.docker.network.driver.mtu=${pids['tsnet']!.mtu}`, '--subnet', same.subnet, same.net]);
  b.undo.push(['network', 'rm', same.net]);
  await start(same);
  paths.push(same);
  const gbps = await interleaved(paths, ROUNDS, (p) => throughputGbps(pids[p.label]!.server, pids[p.label]!.ip, pids[p.label]!.client, IPERF_SECONDS));
  const rttUs = await interleaved(paths, ROUNDS, async (p) => (await pingMedianMs(pids[p.label]!.client, pids[p.label]!.ip, 400)) * 1000);
  const rows = paths.map((p) => ({ network: p.label, mtu: pids[p.label]!.mtu, rounds: ROUNDS, gbit_s_median: median(gbps[p.label]!), rtt_us_median: median(rttUs[p.label]!) }));
  printTable(`between two containers of one network (iperf3 ${IPERF_SECONDS} s; median of 400 pings)`, rows);
  const speed = (other: string) => ({
    throughput_ratio: ratio(median(gbps['tsnet']!), median(gbps[other]!)),
    // Lower latency is better: other / tsnet, so that ≥ 1 means tsnet is at least as fast.
    latency_speed_ratio: ratio(median(rttUs[other]!), median(rttUs['tsnet']!)),
  });
  return { rows, samples: { gbps, rttUs }, vs_builtin_default: speed('builtin'), vs_builtin_same_mtu: speed(same.label) };
}

async function portsCase(b: Bench) {
  // 1. Inside the plugin: ProgramExternalConnectivity for the 1st … PORTS-th published port.
  const ts = b.drivers.find((d) => d.label === 'tsnet')!;
  const [wide] = await freeSubnets(1, { family: 4, prefixLen: 22 });
  const net = await network(b, ts, 'ports', wide!);
  const netId = (await dockerOk(['network', 'inspect', '-f', '{{.Id}}', net])).stdout.trim();
  const socket = b.suite.sockets.network;
  const perPort: number[] = [];
  for (let i = 0; i < PORTS; i++) {
    const EndpointID = randomBytes(32).toString('hex');
    const Interface = { Address: `${at(wide!, i + 2)}/22`, AddressIPv6: '', MacAddress: '' };
    await timePluginCall(socket, 'NetworkDriver.CreateEndpoint', { NetworkID: netId, EndpointID, Interface, Options: {} });
    const portmap = [{ Proto: 6, IP: '', Port: 80, HostIP: '', HostPort: 40000 + i, HostPortEnd: 40000 + i }];
    perPort.push(await timePluginCall(socket, 'NetworkDriver.ProgramExternalConnectivity', { NetworkID: netId, EndpointID, Options: { 'com.docker.network.portmap': portmap } }));
  }
  const first = perPort.slice(0, 20);
  const last = perPort.slice(-20);
  const plugin = { ports: PORTS, p50_ms_first_20: median(first), p50_ms_last_20: median(last), ratio: ratio(median(last), median(first)) };
  printTable('ProgramExternalConnectivity (one port each), first 20 vs last 20 of the run', [plugin]);
  await dockerOk(['network', 'rm', net]); // also removes the endpoints made behind dockerd's back

  // 2. End to end: `docker run -p` with no port yet published, then with PORTS-1 of them.
  const runWithPort = (d: Driver, i: number) =>
    timeDocker(['run', '-d', '--name', name(`${d.label}-p${i}`), '--network', b.base[d.label].name, '-p', `${39000 + i}:80`, b.image, 'sleep', '60']).finally(() =>
      dockerQuiet(['rm', '-f', name(`${d.label}-p${i}`)]),
    );
  const before = await interleaved(b.drivers, RUNS, runWithPort);
  const range = `20000-${20000 + PORTS - 2}`;
  for (const d of b.drivers) await container(b, b.base[d.label].name, `${d.label}-range`, ['-p', `${range}:${range}`]);
  const after = await interleaved(b.drivers, RUNS, runWithPort);
  const rows = b.drivers.map((d) => ({
    driver: d.label,
    p50_ms_port_1: median(before[d.label]!),
    [`p50_ms_port_${PORTS}`]: median(after[d.label]!),
    ratio: ratio(median(after[d.label]!), median(before[d.label]!)),
  }));
  printTable(`docker run -d -p (one port): as the 1st published port, and with ${PORTS - 1} already published`, rows);
  return { plugin, docker: rows };
}

async function main(): Promise<void> {
  const image = await ensureTestImage();
  const subnets = await freeSubnets(2 * NETWORKS + 8, { family: 4, prefixLen: 24 });
  const suite = await startSuite({ only: ['network'] });
  const b: Bench = {
    suite,
    image,
    drivers: [
      { label: 'tsnet', driver: suite.driverNames.network },
      { label: 'builtin', driver: 'bridge' },
    ],
    base: {} as Bench['base'],
    subnet: () => {
      const s = subnets.shift();
      if (!s) throw new Error('out of test subnets');
      return s;
    },
    undo: [],
  };
  const results: Record<string, unknown> = {};
  try {
    for (const d of b.drivers) {
      const subnet = b.subnet();
      b.base[d.label] = { name: await network(b, d, 'base', subnet), subnet };
    }
    if (ONLY.has('run')) results['run'] = await runCase(b);
    if (ONLY.has('traffic')) results['traffic'] = await trafficCase(b);
    if (ONLY.has('ports')) results['ports'] = await portsCase(b);
    if (ONLY.has('create')) results['create'] = await createCase(b);
  } finally {
    for (const argv of b.undo.reverse()) await dockerQuiet(argv);
    await suite.stop();
  }
  console.log(JSON.stringify({ bench: 'bridge', host: { runs: RUNS, networks: NETWORKS, ports: PORTS, iperfSeconds: IPERF_SECONDS, rounds: ROUNDS }, results }));
}

await main();
