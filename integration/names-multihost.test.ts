/**
 * Container names across three simulated hosts (network namespaces, each with `tsnet serve` and
 * engine-lite, etcd on the underlay): engine-lite containers get the name service as nameserver and
 * resolve each other by name, alias and short ID (A, AAAA when IPv6 is on, PTR), on the same host and
 * across hosts; names of another overlay never resolve; a removed container and a host gone past its
 * TTL stop resolving; other names go to a fake upstream on the underlay (never a real resolver); a
 * query flood from one container leaves the responder answering the others.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot } from '../testing/kernel/netns.js';
import { skipUnlessIpv6 } from '../testing/kernel/ipv6.js';
import { DEFAULT_DNS_ADDR } from '../names/defaults.js';
import { managedProcess, type ManagedProcess } from '../testing/managed-process.js';
import { overlaySubnets, startCluster, type Cluster, type SimHost } from '../testing/cluster/multihost.js';
import { pollUntil, repoRoot, tryRun } from '../testing/system.js';

if (!isRoot) console.warn('name service multi-host tests skipped: they need root (namespaces, plugins, containers)');

const TTL_S = 3;
/** The fake upstream, as built (it runs inside each host's namespace). */
const FAKE_UPSTREAM = join(repoRoot(), 'build/tools/names/testing/fake-upstream.js');
/** What the fake upstream answers. */
const OUTSIDE = { name: 'outside.example', ip: '192.0.2.10' };

/** Node program: sends `rate` A queries per second for `seconds` to the responder, from wherever it runs; prints how many it sent. */
const FLOOD = `const dgram = require('node:dgram');
const [addr, rate, seconds] = process.argv.slice(1).map((v, i) => (i === 0 ? v : Number(v)));
const s = dgram.createSocket('udp4');
const q = Buffer.from('abcd01000001000000000000037765620000010001', 'hex');
let sent = 0; const t0 = Date.now(); const end = t0 + seconds * 1000;
const tick = () => { const due = Math.min(Date.now(), end) - t0; while (sent < (due * rate) / 1000) { s.send(q, 53, addr); sent++; } if (Date.now() < end) setTimeout(tick, 2); else setTimeout(() => { console.log(sent); s.close(); }, 100); };
tick();`;

async function engineOk(host: SimHost, args: string[]): Promise<string> {
  const r = await host.engine(args);
  expect(r.code, `${host.name}: engine-lite ${args.join(' ')}\n${r.stdout}${r.stderr}`).toBe(0);
  return r.stdout.trim();
}

/** busybox nslookup of `name` (type `type`; for PTR an IPv4 address) in container `c`: the addresses (or names) answered, empty when none. */
async function lookup(host: SimHost, c: string, name: string, type: 'a' | 'aaaa' | 'ptr' = 'a'): Promise<string[]> {
  // busybox asks for a PTR of an address only when given its reverse name
  const asked = type === 'ptr' ? `${name.split('.').reverse().join('.')}.in-addr.arpa` : name;
  const r = await host.exec(c, 'nslookup', `-type=${type}`, asked);
  if (r.code !== 0) return [];
  const after = r.stdout.split('\n').slice(2).join('\n'); // past "Server:" and "Address:" of the nameserver
  if (type === 'ptr') return [...after.matchAll(/name = (\S+)/g)].map((m) => m[1]!.replace(/\.$/, ''));
  return [...after.matchAll(/Address: (\S+)/g)].map((m) => m[1]!);
}

/** Polls until `lookup` gives `want` (sorted compare); the last answer otherwise. */
async function eventually(what: () => Promise<string[]>, want: string[], timeoutMs = 8000): Promise<string[]> {
  let last: string[] = [];
  await pollUntil(
    async () => {
      last = (await what()).sort();
      return JSON.stringify(last) === JSON.stringify([...want].sort());
    },
    { timeoutMs, intervalMs: 200 },
  );
  return last;
}

const field = (host: SimHost, c: string, format: string) => engineOk(host, ['inspect', '-f', format, c]);
const ipOf = (host: SimHost, c: string, net: string, v6 = false) => field(host, c, `{{with index .NetworkSettings.Networks "${net}"}}{{.${v6 ? 'GlobalIPv6Address' : 'IPAddress'}}}{{end}}`);

describe.skipIf(!isRoot)('container names across three hosts', () => {
  let cluster: Cluster | undefined;
  const upstreams: ManagedProcess[] = [];
  const links = `/tmp/tstest-${randomBytes(4).toString('hex')}`;
  const h = (i: number) => cluster!.hosts[i - 1]!;
  const ip = new Map<string, string>();
  let webId = '';
  let v6Subnet = '';

  beforeAll(async () => {
    // engine-lite keeps each host's records in <host dir>/engine, known once the cluster exists: serve reads them through a link made then.
    await mkdir(links, { recursive: true, mode: 0o700 });
    cluster = await startCluster({
      hosts: 3,
      etcd: true,
      clusterTtlS: TTL_S,
      only: ['network', 'ipam'],
      // The upstream is a fake on each host's loopback: nothing is ever forwarded off the namespaces.
      serveArgs: (i) => ['--engine-lite-state', join(links, `h${i}`), '--dns-upstream', '127.0.0.1:5353'],
    });
    const [v4, other] = await overlaySubnets(cluster, 4, 2);
    [v6Subnet = ''] = await overlaySubnets(cluster, 6, 1);
    for (const host of cluster.hosts) {
      await symlink(join(host.dir, 'engine'), join(links, host.name));
      await tryRun(['ip', '-n', host.netns, 'link', 'set', 'lo', 'up']);
      const up = managedProcess(['ip', 'netns', 'exec', host.netns, process.execPath, FAKE_UPSTREAM, '127.0.0.1', '5353', `${OUTSIDE.name}=${OUTSIDE.ip}`], {
        ready: async () => up.logs().includes('ready'),
      });
      upstreams.push(up);
      await up.start();
      const create = (name: string, vni: number, subnet: string, extra: string[] = []) =>
        engineOk(host, ['network', 'create', '-d', 'tsnet', '-o', 'mode=overlay', '-o', `vni=${vni}`, '--ipam-driver', 'tsipam', '--ipam-opt', 'cluster=true', '--subnet', subnet, ...extra, name]);
      await create('ov', 4343, v4!, ['--ipv6', '--subnet', v6Subnet]);
      await create('other', 4344, other!);
    }
    webId = await engineOk(h(1), ['run', '-d', '--name', 'web', '--network', 'ov', '--network-alias', 'websvc', cluster.image, 'sleep', '86400']);
    await h(1).run('near', 'ov');
    await h(2).run('client2', 'ov');
    await h(3).run('client3', 'ov');
    await h(3).run('stranger', 'other');
    for (const [host, c] of [[1, 'web'], [1, 'near'], [2, 'client2'], [3, 'client3']] as const) ip.set(c, await ipOf(h(host), c, 'ov'));
    ip.set('web/6', await ipOf(h(1), 'web', 'ov', true));
  }, 240_000);
  afterAll(async () => {
    for (const up of upstreams) await up.signal('SIGTERM');
    await cluster?.stop();
    await rm(links, { recursive: true, force: true });
  });

  it('gives engine-lite containers the name service as their only nameserver', async () => {
    const r = await h(2).exec('client2', 'cat', '/etc/resolv.conf');
    expect(r.stdout.trim().split('\n').filter((l) => l.startsWith('nameserver'))).toEqual([`nameserver ${DEFAULT_DNS_ADDR}`]);
  });

  it('resolves name, alias and short ID on the same host and across hosts, and pings by name', async () => {
    const web = [ip.get('web')!];
    for (const [host, c] of [[1, 'near'], [2, 'client2'], [3, 'client3']] as const) {
      for (const name of ['web', 'websvc', webId.slice(0, 12)]) expect(await eventually(() => lookup(h(host), c, name), web), `${c} → ${name}`).toEqual(web);
    }
    const p = await h(2).exec('client2', 'ping', '-c', '1', '-W', '2', 'web');
    expect(p.code, p.stdout + p.stderr).toBe(0);
    expect(await eventually(() => lookup(h(1), 'web', 'client3'), [ip.get('client3')!])).toEqual([ip.get('client3')!]);
  });

  it('answers PTR for addresses on the network, across hosts', async () => {
    expect(await eventually(() => lookup(h(3), 'client3', ip.get('web')!, 'ptr'), ['web'])).toEqual(['web']);
    expect(await eventually(() => lookup(h(1), 'near', ip.get('client2')!, 'ptr'), ['client2'])).toEqual(['client2']);
  });

  it('answers AAAA across hosts when IPv6 is on', async (ctx) => {
    await skipUnlessIpv6(ctx, { netns: h(2).netns });
    expect(ip.get('web/6'), 'web has an IPv6 address on ov').not.toBe('');
    expect(await eventually(() => lookup(h(2), 'client2', 'web', 'aaaa'), [ip.get('web/6')!])).toEqual([ip.get('web/6')!]);
  });

  it('never resolves a name of another network, even on the same host', async () => {
    expect(await eventually(() => lookup(h(3), 'client3', 'web'), [ip.get('web')!])).toEqual([ip.get('web')!]);
    expect(await lookup(h(3), 'stranger', 'web')).toEqual([]);
    expect(await lookup(h(3), 'stranger', 'client3')).toEqual([]);
    expect(await lookup(h(3), 'stranger', ip.get('client3')!, 'ptr')).toEqual([]);
  });

  it('forwards other names to the upstream', async () => {
    expect(await lookup(h(2), 'client2', OUTSIDE.name)).toEqual([OUTSIDE.ip]);
    expect(await lookup(h(3), 'stranger', OUTSIDE.name)).toEqual([OUTSIDE.ip]);
  });

  it('keeps answering others while one container floods it with ≥ 10,000 queries/s', async () => {
    const pid = await field(h(3), 'stranger', '{{.State.Pid}}');
    const flood = tryRun(['nsenter', '-t', pid, '-n', process.execPath, '-e', FLOOD, DEFAULT_DNS_ADDR, '12000', '4'], { timeoutMs: 30_000 });
    const started = Date.now();
    let asked = 0;
    let answered = 0;
    await new Promise((r) => setTimeout(r, 500));
    while (Date.now() - started < 3500) {
      asked++;
      if ((await lookup(h(3), 'client3', 'web')).includes(ip.get('web')!)) answered++;
    }
    const sent = Number((await flood).stdout.trim());
    console.log(`flood: ${sent} queries in 4 s from one container; another container got ${answered}/${asked} answers meanwhile`);
    expect(sent / 4).toBeGreaterThanOrEqual(10_000);
    expect(answered).toBe(asked);
  });

  it('stops resolving a removed container within a few seconds, everywhere', async () => {
    await engineOk(h(2), ['run', '-d', '--name', 'gone', '--network', 'ov', cluster!.image, 'sleep', '86400']);
    const gone = await ipOf(h(2), 'gone', 'ov');
    expect(await eventually(() => lookup(h(1), 'near', 'gone'), [gone])).toEqual([gone]);
    await engineOk(h(2), ['rm', '-f', 'gone']);
    const t0 = Date.now();
    expect(await eventually(() => lookup(h(1), 'near', 'gone'), [], 6000)).toEqual([]);
    expect(await eventually(() => lookup(h(2), 'client2', 'gone'), [], 6000)).toEqual([]);
    console.log(`removed container stopped resolving on another host after ${Date.now() - t0} ms`);
  });

  it('drops the names of a host gone past its TTL', async () => {
    expect(await eventually(() => lookup(h(1), 'near', 'client3'), [ip.get('client3')!])).toEqual([ip.get('client3')!]);
    await h(3).plugin.kill9();
    const t0 = Date.now();
    expect(await eventually(() => lookup(h(1), 'near', 'client3'), [], (TTL_S + 6) * 1000)).toEqual([]);
    console.log(`names of a killed host gone after ${Date.now() - t0} ms (TTL ${TTL_S} s)`);
    await h(3).plugin.start();
    expect(await eventually(() => lookup(h(1), 'near', 'client3'), [ip.get('client3')!], 15_000)).toEqual([ip.get('client3')!]);
  });
});
