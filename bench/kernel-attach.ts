/**
 * @module Benchmark: how long one "attach" takes — bridge + veth pair + set master + both ends up —
 * through netlink, through one `ip` process per step, through one `ip -batch`, and through the
 * public Links API on each path. Runs in a throwaway namespace: the parent makes `tsbench-…`,
 * re-executes itself inside it with `ip netns exec`, and deletes it afterwards; the host's
 * namespace is never touched.
 *
 * Usage: `npm run bench -- kernel-attach [--n 200]`
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { release } from 'node:os';
import { formatTable } from '../common/cli/table.js';
import { CommandError, run } from '../common/kernel/exec.js';
import type { NetnsOption } from '../common/kernel/link-types.js';
import { links } from '../common/kernel/links-api.js';
import { deleteNetns, ensureNetns } from '../common/kernel/netns.js';
import type { RtBackend } from '../common/kernel/rt-backend.js';
import { IpRoute2Backend } from '../common/kernel/rt-iproute2.js';
import { NetlinkBackend } from '../common/kernel/rt-netlink.js';
import { closeRtnl } from '../common/kernel/rtnl-socket.js';

const BR = 'tsbb0';
const HOST = 'tsvb0';
const PEER = 'tsvb0p';
const WARMUP = 5;

interface Method {
  name: string;
  /** Kernel requests or processes per attach, for the table. */
  cost: string;
  attach(): Promise<void>;
  /** Undoes `attach`; absent for a measurement that leaves nothing behind. */
  detach?(): Promise<void>;
}

interface Result {
  method: string;
  cost: string;
  attach: Stats;
  detach?: Stats;
}

interface Stats {
  p50: number;
  p99: number;
  mean: number;
}

/** "bridge + veth + master + up both" as separate primitive steps on one back end. */
function stepwise(name: string, cost: string, b: RtBackend): Method {
  return {
    name,
    cost,
    async attach() {
      await b.addLink({ name: BR, kind: 'bridge', up: true });
      await b.addLink({ name: HOST, kind: 'veth', peer: { name: PEER } });
      await b.setLink(HOST, { master: BR });
      await b.setLink(HOST, { up: true });
      await b.setLink(PEER, { up: true });
    },
    async detach() {
      await b.delLink(HOST);
      await b.delLink(BR);
    },
  };
}

/** The same attach as a driver writes it: ensureBridge + ensureVethPair with `master`. */
function viaApi(name: string, cost: string, opts: NetnsOption): Method {
  return {
    name,
    cost,
    attach: async () => {
      await links.ensureBridge(BR, opts);
      await links.ensureVethPair(HOST, PEER, { ...opts, master: BR });
    },
    detach: async () => {
      await links.deleteLink(HOST, opts);
      await links.deleteLink(BR, opts);
    },
  };
}

/** One request that changes nothing (bring up `lo`, already up): the fixed cost of a step on a path. */
function noop(name: string, cost: string, b: RtBackend): Method {
  return { name, cost, attach: () => b.setLink('lo', { up: true }) };
}

function methods(ns: string): Method[] {
  const batch = (lines: string[]) => run(['ip', '-batch', '-'], { object: 'bench', step: 'batch', input: lines.join('\n') + '\n' });
  return [
    stepwise('netlink, one request per step', '5 requests', new NetlinkBackend()),
    viaApi('netlink via Links API (no netns)', '3 requests', {}),
    stepwise('ip, one process per step', '5 processes', new IpRoute2Backend()),
    viaApi('ip -n via Links API (netns set)', '2 processes', { netns: ns }),
    {
      name: 'ip -batch, all steps in one',
      cost: '1 process',
      attach: async () => {
        await batch([
          `link add ${BR} up type bridge`,
          `link add ${HOST} type veth peer name ${PEER}`,
          `link set dev ${HOST} master ${BR}`,
          `link set dev ${HOST} up`,
          `link set dev ${PEER} up`,
        ]);
      },
      detach: async () => {
        await batch([`link del dev ${HOST}`, `link del dev ${BR}`]);
      },
    },
    noop('netlink, one no-op step only', '1 request', new NetlinkBackend()),
    noop('ip, one no-op step only', '1 process', new IpRoute2Backend()),
  ];
}

function stats(samples: number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? NaN;
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return { p50: round(at(0.5)), p99: round(at(0.99)), mean: round(s.reduce((a, b) => a + b, 0) / s.length) };
}

async function measure(m: Method, n: number): Promise<Result> {
  const attach: number[] = [];
  const detach: number[] = [];
  for (let i = 0; i < n + WARMUP; i++) {
    const t0 = performance.now();
    await m.attach();
    const t1 = performance.now();
    await m.detach?.();
    const t2 = performance.now();
    if (i >= WARMUP) {
      attach.push(t1 - t0);
      detach.push(t2 - t1);
    }
  }
  const result: Result = { method: m.name, cost: m.cost, attach: stats(attach) };
  if (m.detach) result.detach = stats(detach);
  return result;
}

/** Inside the throwaway namespace: run every method and print the results as one JSON line. */
async function child(ns: string, n: number): Promise<void> {
  const results: Result[] = [];
  for (const m of methods(ns)) results.push(await measure(m, n));
  closeRtnl();
  process.stdout.write(JSON.stringify(results) + '\n');
}

function table(results: Result[], n: number): string {
  // Each ratio is against the first netlink row of its kind (a whole attach, or a single step).
  const baseOf = (r: Result) => results.find((b) => b.method.startsWith('netlink') && !b.detach === !r.detach)?.attach.p50 ?? NaN;
  const rows = results.map((r) => [
    r.method,
    r.cost,
    r.attach.p50.toFixed(3),
    r.attach.p99.toFixed(3),
    r.attach.mean.toFixed(3),
    `${(r.attach.p50 / baseOf(r)).toFixed(1)}x`,
    r.detach?.p50.toFixed(3) ?? '-',
  ]);
  const head = ['method', 'per attach', 'p50 ms', 'p99 ms', 'mean ms', 'p50 vs netlink', 'detach p50 ms'];
  const rightAligned = head.flatMap((_, i) => (i < 2 ? [] : [i]));
  return `attach = bridge + veth pair + set master + both ends up; n=${n} after ${WARMUP} warm-up, kernel ${release()}\n${formatTable(head, rows, { gap: 2, rightAligned }).trimEnd()}`;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const n = Number(args[args.indexOf('--n') + 1] ?? 200) || 200;
  const childAt = args.indexOf('--child');
  if (childAt >= 0) return child(args[childAt + 1] ?? '', n);
  if (process.getuid?.() !== 0) throw new Error('kernel-attach needs root (it makes a network namespace)');
  const ns = `tsbench-${randomBytes(4).toString('hex')}`;
  await ensureNetns(ns);
  try {
    const script = process.argv[1] ?? '';
    const out = await run(['ip', 'netns', 'exec', ns, process.execPath, script, '--child', ns, '--n', String(n)], {
      object: `netns "${ns}"`,
      step: 'benchmark in',
    });
    const results = JSON.parse(out.stdout) as Result[];
    process.stdout.write(table(results, n) + '\n');
    process.stdout.write(JSON.stringify({ bench: 'kernel-attach', n, kernel: release(), results }) + '\n');
  } finally {
    await deleteNetns(ns);
  }
}

main().catch((err: unknown) => {
  const how = err instanceof CommandError ? ` (exit code ${err.exitCode ?? 'none: killed by a signal'})` : '';
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}${how}\n`);
  process.exitCode = 1;
});
