/**
 * Container names with a real dockerd on each of two simulated hosts, set up as a user would with
 * Docker 20.10: an overlay created on each host, containers run with `--dns 169.254.53.53` (what
 * `"dns"` in daemon.json gives every container). Docker's embedded DNS answers its own host's names and
 * forwards the rest to the name service, which answers names of the other host (container name,
 * `--network-alias`, short ID; PTR), forwards other names to a fake upstream on the host's loopback,
 * and forgets a removed container. `tsnet serve` reads names from its host's dockerd (`--docker-host`).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot } from '../testing/kernel/netns.js';
import { DEFAULT_DNS_ADDR } from '../names/defaults.js';
import { startHostDockerd, type HostDockerd } from '../testing/docker/host-dockerd.js';
import { managedProcess, type ManagedProcess } from '../testing/managed-process.js';
import { overlaySubnets, startCluster, type Cluster } from '../testing/cluster/multihost.js';
import { pollUntil, repoRoot, tryRun } from '../testing/system.js';

if (!isRoot) console.warn('name service dockerd tests skipped: they need root (namespaces, dockerd)');

const IMAGE = 'tstest-mh/busybox:latest';
const FAKE_UPSTREAM = join(repoRoot(), 'build/tools/names/testing/fake-upstream.js');
const OUTSIDE = { name: 'outside.example', ip: '192.0.2.20' };

describe.skipIf(!isRoot)('container names with a real dockerd on each of two hosts', () => {
  let cluster: Cluster | undefined;
  const dockerds: HostDockerd[] = [];
  const upstreams: ManagedProcess[] = [];
  const links = `/tmp/tstest-${randomBytes(4).toString('hex')}`;
  const d = (i: number) => dockerds[i - 1]!;
  let w1Id = '';

  async function dockerOk(i: number, args: string[]): Promise<string> {
    const r = await d(i).docker(args);
    expect(r.code, `host ${i}: docker ${args.join(' ')}\n${r.stdout}${r.stderr}`).toBe(0);
    return r.stdout.trim();
  }
  const ipOf = (i: number, name: string) => dockerOk(i, ['inspect', '-f', '{{(index .NetworkSettings.Networks "ov").IPAddress}}', name]);

  /** busybox nslookup in container `c` of host `i`: the addresses (names for a reverse name) answered. */
  async function lookup(i: number, c: string, name: string, type: 'a' | 'ptr' = 'a'): Promise<string[]> {
    const r = await d(i).docker(['exec', c, 'nslookup', `-type=${type}`, name]);
    if (r.code !== 0) return [];
    const after = r.stdout.split('\n').slice(2).join('\n');
    return type === 'ptr' ? [...after.matchAll(/name = (\S+)/g)].map((m) => m[1]!.replace(/\.$/, '')) : [...after.matchAll(/Address: (\S+)/g)].map((m) => m[1]!);
  }
  async function eventually(what: () => Promise<string[]>, want: string[], timeoutMs = 10_000): Promise<string[]> {
    let last: string[] = [];
    await pollUntil(async () => JSON.stringify((last = (await what()).sort())) === JSON.stringify([...want].sort()), { timeoutMs, intervalMs: 250 });
    return last;
  }

  beforeAll(async () => {
    await mkdir(links, { recursive: true, mode: 0o700 });
    // Each host's dockerd API socket is known once the cluster exists: serve dials it through a link made then.
    cluster = await startCluster({
      hosts: 2,
      etcd: true,
      only: ['network', 'ipam'],
      serveArgs: (i) => ['--docker-host', `unix://${join(links, `h${i}.sock`)}`, '--dns-upstream', '127.0.0.1:5353'],
    });
    for (const host of cluster.hosts) {
      dockerds.push(await startHostDockerd(host, IMAGE));
      await symlink(join(host.dir, 'dockerd', 'docker.sock'), join(links, `${host.name}.sock`));
      await tryRun(['ip', '-n', host.netns, 'link', 'set', 'lo', 'up']);
      const up = managedProcess(['ip', 'netns', 'exec', host.netns, process.execPath, FAKE_UPSTREAM, '127.0.0.1', '5353', `${OUTSIDE.name}=${OUTSIDE.ip}`], { ready: async () => up.logs().includes('ready') });
      upstreams.push(up);
      await up.start();
    }
    const [subnet] = await overlaySubnets(cluster, 4, 1);
    for (const i of [1, 2]) {
      await dockerOk(i, ['network', 'create', '-d', 'tsnet', '-o', 'mode=overlay', '-o', 'vni=5105', '--ipam-driver', 'tsipam', '--ipam-opt', 'cluster=true', '--subnet', subnet!, 'ov']);
    }
    w1Id = await dockerOk(1, ['run', '-d', '--name', 'w1', '--network', 'ov', '--network-alias', 'api', '--dns', DEFAULT_DNS_ADDR, IMAGE, 'sleep', '86400']);
    await dockerOk(2, ['run', '-d', '--name', 'w2', '--network', 'ov', '--dns', DEFAULT_DNS_ADDR, IMAGE, 'sleep', '86400']);
  }, 240_000);
  afterAll(async () => {
    for (const up of upstreams) await up.signal('SIGTERM');
    await cluster?.stop();
    await rm(links, { recursive: true, force: true });
  });

  it("resolves the other host's container by name, alias and short ID through Docker's embedded DNS", async () => {
    const w1 = [await ipOf(1, 'w1')];
    for (const name of ['w1', 'api', w1Id.slice(0, 12)]) expect(await eventually(() => lookup(2, 'w2', name), w1), name).toEqual(w1);
    const w2 = [await ipOf(2, 'w2')];
    expect(await eventually(() => lookup(1, 'w1', 'w2'), w2)).toEqual(w2);
    const reverse = `${w1[0]!.split('.').reverse().join('.')}.in-addr.arpa`;
    expect(await eventually(() => lookup(2, 'w2', reverse, 'ptr'), ['w1'])).toEqual(['w1']);
  });

  it('forwards other names to the upstream', async () => {
    expect(await eventually(() => lookup(2, 'w2', OUTSIDE.name), [OUTSIDE.ip])).toEqual([OUTSIDE.ip]);
  });

  it('forgets a removed container on the other host', async () => {
    await dockerOk(1, ['run', '-d', '--name', 'tmp1', '--network', 'ov', '--dns', DEFAULT_DNS_ADDR, IMAGE, 'sleep', '86400']);
    const ip = await ipOf(1, 'tmp1');
    expect(await eventually(() => lookup(2, 'w2', 'tmp1'), [ip])).toEqual([ip]);
    await dockerOk(1, ['rm', '-f', 'tmp1']);
    expect(await eventually(() => lookup(2, 'w2', 'tmp1'), [], 6000)).toEqual([]);
  });
});
