/**
 * macvlan benchmark: tsnet `mode=macvlan` beside Docker's built-in `macvlan` driver on the same parent
 * (a veth pair made here, whose other end is a LAN namespace with the routers; never the host's uplink),
 * in one run:
 *  1. `docker run --rm --network N IMAGE true`, the two drivers interleaved round by round;
 *  2. TCP throughput between two containers of one network (iperf3 run in their namespaces with
 *     nsenter), the drivers alternating.
 * Prints tables, then one JSON line. Removes everything it made, also on failure. Needs root and dockerd.
 *
 *   npm run bench -- macvlan-bench [runs=20] [iperfSeconds=5] [iperfRepeats=3]
 */
import { addressIn, firstAddress, makeTestLan } from '../network-driver/modes/testing/fixture-lan.js';
import { freeSubnets } from '../testing/kernel/subnets.js';
import { docker, dockerOk, startSuite } from '../testing/docker/plugin-harness.js';
import { ensureTestImage, mustRun } from '../testing/system.js';
import { throughputGbps } from '../testing/measure/bridge-measure.js';
import { percentile, printTable } from '../testing/measure/stats.js';

const runs = Number(process.argv[2] ?? 20);
const iperfSeconds = Number(process.argv[3] ?? 5);
const iperfRepeats = Number(process.argv[4] ?? 3);

interface Net {
  label: string;
  name: string;
  subnet: string;
}

/** Milliseconds of one `docker run --rm … true` on each network, interleaved. */
async function runTimes(nets: Net[], image: string): Promise<Record<string, number[]>> {
  const samples: Record<string, number[]> = Object.fromEntries(nets.map((n) => [n.label, []]));
  for (let i = 0; i < runs; i++) {
    for (const n of i % 2 === 0 ? nets : [...nets].reverse()) {
      const t0 = performance.now();
      await dockerOk(['run', '--rm', '--network', n.name, image, 'true']);
      samples[n.label]!.push(performance.now() - t0);
    }
  }
  return samples;
}

/** Two sleeping containers per network; iperf3 between them, the networks alternating. */
async function throughput(nets: Net[], image: string, containers: string[]): Promise<Record<string, number[]>> {
  const pids: Record<string, [number, number]> = {};
  for (const n of nets) {
    const pair: number[] = [];
    for (const host of [10, 11]) {
      const c = `${n.name}-${host}`;
      containers.push(c);
      await dockerOk(['run', '-d', '--name', c, '--network', n.name, '--ip', addressIn(n.subnet, host), image, 'sleep', '3600']);
      pair.push(Number((await dockerOk(['inspect', '-f', '{{.State.Pid}}', c])).stdout.trim()));
    }
    pids[n.label] = [pair[0]!, pair[1]!];
  }
  const samples: Record<string, number[]> = Object.fromEntries(nets.map((n) => [n.label, []]));
  for (let i = 0; i < iperfRepeats; i++) {
    for (const n of nets) samples[n.label]!.push(await throughputGbps(pids[n.label]![0], addressIn(n.subnet, 10), pids[n.label]![1], iperfSeconds));
  }
  return samples;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('needs root');
  if ((await docker(['version'])).code !== 0) throw new Error('no dockerd answers');
  await mustRun(['iperf3', '--version']);
  const image = await ensureTestImage();
  const suite = await startSuite({ only: ['network'] });
  const [tsSubnet, dkSubnet] = await freeSubnets(2, { family: 4, prefixLen: 24 });
  const lan = await makeTestLan({ subnets: [tsSubnet!, dkSubnet!] });
  const base = `tstest-mvbench-${process.pid}`;
  const nets: Net[] = [
    { label: 'tsnet macvlan', name: `${base}-ts`, subnet: tsSubnet! },
    { label: 'docker macvlan', name: `${base}-dk`, subnet: dkSubnet! },
  ];
  const containers: string[] = [];
  try {
    const driverOf = { 'tsnet macvlan': [suite.driverNames.network, '-o', 'mode=macvlan'], 'docker macvlan': ['macvlan'] } as Record<string, string[]>;
    for (const n of nets) {
      await dockerOk(['network', 'create', '-d', ...driverOf[n.label]!, '-o', `parent=${lan.parent}`, '--subnet', n.subnet, '--gateway', firstAddress(n.subnet), n.name]);
    }
    const times = await runTimes(nets, image);
    const gbits = await throughput(nets, image, containers);
    const runRows = nets.map((n) => {
      const s = times[n.label]!;
      return { driver: n.label, runs: s.length, p50_ms: percentile(s, 50), p90_ms: percentile(s, 90), min_ms: percentile(s, 0) };
    });
    const tputRows = nets.map((n) => {
      const s = gbits[n.label]!;
      return { driver: n.label, repeats: s.length, median_gbit_s: percentile(s, 50), min_gbit_s: percentile(s, 0), max_gbit_s: percentile(s, 100) };
    });
    const ratio = (rows: Array<Record<string, string | number>>, key: string) => Math.round((Number(rows[0]![key]) / Number(rows[1]![key])) * 100) / 100;
    printTable(`1. docker run --rm … true (${runs} rounds, interleaved); tsnet/docker p50 = ${ratio(runRows, 'p50_ms')}`, runRows);
    printTable(`2. iperf3 TCP between two containers of one network, ${iperfSeconds} s × ${iperfRepeats}; tsnet/docker median = ${ratio(tputRows, 'median_gbit_s')}`, tputRows);
    console.log(JSON.stringify({ bench: 'macvlan', parent: lan.parent, results: { dockerRun: runRows, throughput: tputRows } }));
  } finally {
    for (const c of containers) await docker(['rm', '-f', c]);
    for (const n of nets) await docker(['network', 'rm', n.name]);
    await lan.remove();
    await suite.stop();
  }
}

await main();
