/**
 * The multi-host harness itself (testing/cluster/multihost.ts, host-dockerd.ts): simulated hosts
 * on an underlay of namespaces, each with its own plugin and engine-lite, optionally an etcd, and a real
 * dockerd inside one simulated host; and that stopping a cluster leaves nothing behind.
 */
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listCgroups } from '../common/kernel/cgroup.js';
import { listNetns, netnsPath } from '../common/kernel/netns.js';
import { freeSubnets } from '../testing/kernel/subnets.js';
import { isRoot } from '../testing/kernel/netns.js';
import { startHostDockerd, type HostDockerd } from '../testing/docker/host-dockerd.js';
import { startCluster, type Cluster, type SimHost } from '../testing/cluster/multihost.js';
import { fixtureProcesses } from '../testing/process-sweep.js';
import { UNDERLAY_IFNAME, UNDERLAY_MTU } from '../testing/cluster/underlay.js';
import { mustRun } from '../testing/system.js';

if (!isRoot) console.warn('multi-host harness tests skipped: they need root (namespaces, plugins, containers)');

/** Inode of a process's network namespace. */
const netnsOfPid = async (pid: number) => (await stat(`/proc/${pid}/ns/net`)).ino;
const netnsInode = async (name: string) => (await stat(netnsPath(name))).ino;

/** Checks every trace of `cluster` is gone: namespaces, processes, the folder; `extra` netns too. */
async function expectNothingLeft(cluster: Cluster, extraNetns: string[] = []): Promise<void> {
  const names = [cluster.underlay.netns, ...cluster.hosts.map((h) => h.netns)];
  expect(await listNetns(`tstest-${cluster.id}`)).toEqual([]);
  for (const ns of extraNetns) expect(await listNetns(ns)).toEqual([]);
  expect(await fixtureProcesses(cluster.dir, names)).toEqual([]);
  expect(existsSync(cluster.dir)).toBe(false);
  await cluster.stop(); // idempotent
}

/** Node program printing the body of a GET of its argument. */
const FETCH = 'fetch(process.argv[1], { signal: AbortSignal.timeout(5000) }).then((r) => r.text()).then((t) => console.log(t))';

async function expectActivates(host: SimHost): Promise<void> {
  const implementsOf = { network: 'NetworkDriver', ipam: 'IpamDriver', volume: 'VolumeDriver' } as const;
  for (const kind of host.plugin.served) {
    const reply = await host.plugin.call(kind, 'Plugin.Activate');
    expect(reply.status, `${host.name} ${kind}: ${reply.text}`).toBe(200);
    expect(reply.json).toEqual({ Implements: [implementsOf[kind]] });
  }
  expect(await netnsOfPid(host.plugin.pid!)).toBe(await netnsInode(host.netns));
}

describe.skipIf(!isRoot)('multi-host harness: three hosts without etcd', () => {
  let cluster: Cluster | undefined;
  const c = () => cluster!;
  let containerId = '';

  beforeAll(async () => {
    cluster = await startCluster({ hosts: 3 });
  });
  afterAll(() => cluster?.stop());

  it('runs each host plugin inside its host namespace, answering Plugin.Activate', async () => {
    expect(c().hosts.map((h) => h.ip)).toEqual([1, 2, 3].map((n) => c().underlay.ip.replace(/\.254$/, `.${n}`)));
    for (const host of c().hosts) await expectActivates(host);
  });

  it('joins the hosts by an underlay with MTU 1400 and no way out', async () => {
    const { hosts, underlay } = c();
    const pings = hosts.flatMap((from) => [...hosts.filter((to) => to !== from).map((to) => to.ip), underlay.ip].map((ip) => ({ from, ip })));
    const results = await Promise.all(pings.map(({ from, ip }) => from.sh(['busybox', 'ping', '-c', '1', '-W', '3', ip])));
    results.forEach((r, i) => expect(r.code, `${pings[i]!.from.name} → ${pings[i]!.ip}: ${r.stdout}${r.stderr}`).toBe(0));
    for (const host of hosts) {
      const link = JSON.parse((await mustRun(['ip', '-j', '-n', host.netns, 'link', 'show', UNDERLAY_IFNAME])).stdout) as { mtu: number }[];
      expect(link[0]?.mtu).toBe(UNDERLAY_MTU);
      expect((await mustRun(['ip', '-n', host.netns, 'route', 'show', 'default'])).stdout.trim()).toBe('');
      expect((await mustRun(['ip', '-n', host.netns, '-6', 'route', 'show', 'default'])).stdout.trim()).toBe('');
    }
    // The machine's own namespace knows nothing of the underlay.
    expect((await mustRun(['ip', 'route', 'show', 'table', 'all'])).stdout).not.toContain(underlay.subnet);
  });

  it('runs a container with --network none through engine-lite on host 1', async () => {
    const host = c().hosts[0]!;
    const r = await host.engine(['run', '--rm', '--network', 'none', c().image, 'true']);
    expect(r.code, r.stderr).toBe(0);
  });

  it("puts a container's veth host end in its host namespace, not the machine's", async () => {
    const host = c().hosts[0]!;
    const subnet = (await freeSubnets(2, { family: 4, prefixLen: 24 })).find((s) => s !== c().underlay.subnet)!;
    const gateway = subnet.replace(/\.0\/24$/, '.1');
    await host.runtime.ok(['network', 'create', '-d', 'tsnet', '--ipam-driver', 'tsipam', '--subnet', subnet, '--gateway', gateway, 'n1']);
    containerId = await host.run('c1', 'n1');
    const ping = await host.exec('c1', 'ping', '-c', '1', '-W', '3', gateway);
    expect(ping.code, ping.stdout + ping.stderr).toBe(0);
    const hostLinks = (await mustRun(['ip', '-n', host.netns, '-o', 'link'])).stdout;
    const veth = /\d+: (tsv[0-9a-f]+)@/.exec(hostLinks)?.[1];
    expect(veth, hostLinks).toBeDefined();
    expect((await mustRun(['ip', '-o', 'link'])).stdout).not.toContain(veth);
    expect(await listNetns(`tsel-${containerId.slice(0, 12)}`)).toHaveLength(1);
  });

  it("kills, restarts and stops a host's plugin", async () => {
    const { plugin } = c().hosts[1]!;
    const before = plugin.pid;
    await plugin.kill9();
    expect(plugin.pid).toBeUndefined();
    await plugin.start();
    await plugin.restart();
    expect(plugin.pid).not.toBe(before);
    await expectActivates(c().hosts[1]!);
    expect(plugin.logs()).toContain('[harness] restart');
  });

  it('stop() removes containers, plugins, namespaces and folders', async () => {
    await c().stop();
    await expectNothingLeft(c(), [`tsel-${containerId.slice(0, 12)}`]);
    expect(await listCgroups('')).not.toContain(`tsel-${containerId.slice(0, 12)}`);
  });
});

describe.skipIf(!isRoot)('multi-host harness: three hosts with etcd', () => {
  let cluster: Cluster | undefined;
  const c = () => cluster!;

  beforeAll(async () => {
    cluster = await startCluster({ hosts: 3, etcd: true });
  });
  afterAll(() => cluster?.stop());

  it('serves etcd on the underlay, reachable from every host', async () => {
    const etcd = c().etcd!;
    expect(etcd.url).toMatch(new RegExp(`^etcd://${c().underlay.ip.replaceAll('.', '\\.')}:\\d+$`));
    for (const host of c().hosts) {
      // busybox-static's wget crashes (static glibc); Node's fetch stands in.
      const r = await host.sh([process.execPath, '-e', FETCH, `${etcd.endpoints[0]}/version`]);
      expect(r.code, `${host.name}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toContain('etcdserver');
    }
  });

  it('runs every plugin with the cluster flags, answering Plugin.Activate', async () => {
    for (const host of c().hosts) {
      await expectActivates(host);
      const cmdline = (await readFile(`/proc/${host.plugin.pid}/cmdline`, 'utf8')).split('\0');
      expect(cmdline).toEqual(expect.arrayContaining(['--cluster-store', c().etcd!.url, '--advertise-addr', host.ip]));
    }
  });

  it('stop() removes etcd too', async () => {
    const dataDir = c().etcd!.dataDir;
    await c().stop();
    await expectNothingLeft(c());
    expect(existsSync(dataDir)).toBe(false);
  });
});

describe.skipIf(!isRoot)('multi-host harness: a real dockerd in a simulated host', () => {
  let cluster: Cluster | undefined;
  let dockerd: HostDockerd | undefined;
  const image = 'tstest-mh/busybox:latest';

  beforeAll(async () => {
    cluster = await startCluster({ hosts: 1 });
    dockerd = await startHostDockerd(cluster.hosts[0]!, image);
  });
  afterAll(() => cluster?.stop());

  it('runs dockerd in the host namespace', async () => {
    const pid = Number((await readFile(`${dockerd!.dir}/docker.pid`, 'utf8')).trim());
    expect(await netnsOfPid(pid)).toBe(await netnsInode(cluster!.hosts[0]!.netns));
  });

  it('runs a container with --network none', async () => {
    const r = await dockerd!.docker(['run', '--rm', '--network', 'none', image, 'ip', '-o', 'link']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([expect.stringMatching(/^1: lo:/)]);
  });

  it("finds its host's plugins by their socket names", async () => {
    const created = await dockerd!.docker(['network', 'create', '-d', 'tsnet', '-o', 'mode=none', 'n0']);
    expect(created.code, created.stderr).toBe(0);
    const r = await dockerd!.docker(['run', '--rm', '--network', 'n0', image, 'true']);
    expect(r.code, r.stderr).toBe(0);
    expect(cluster!.hosts[0]!.plugin.logs()).toContain('NetworkDriver.Join');
    expect((await dockerd!.docker(['network', 'rm', 'n0'])).code).toBe(0);
  });

  it('stop() stops dockerd and leaves nothing', async () => {
    await cluster!.stop();
    await expectNothingLeft(cluster!);
  });
});
