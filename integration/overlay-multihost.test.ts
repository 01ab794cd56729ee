/**
 * tsnet `mode=overlay` across three simulated hosts (network namespaces on an underlay bridge of their
 * own, MTU 1400), each with its own `tsnet serve --cluster-store … --advertise-addr …` and engine-lite,
 * and a real etcd on the underlay. Addresses come from tsipam cluster pools. Covers: reachability
 * (IPv4 and IPv6), isolation between VNIs, unique addresses under concurrent starts on all hosts,
 * removal of entries on other hosts, a killed and restarted plugin, a dead host, etcd away, large
 * packets, and bad input. Nothing leaves the namespaces: the host namespaces have no default route.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { isRoot } from '../testing/kernel/netns.js';
import type { TsnetNetworkResponses } from '../network-driver/admin-api.js';
import { overlayMacFor } from '../network-driver/modes/overlay/overlay-mode.js';
import type { OverlayStatus } from '../network-driver/modes/overlay/status.js';
import { instanceTag } from '../network-driver/modes/shared/instance.js';
import { etcdKeys, overlaySubnets, startCluster, type Cluster, type SimHost } from '../testing/cluster/multihost.js';
import { throughputGbps } from '../testing/measure/bridge-measure.js';
import { mustRun } from '../testing/system.js';

if (!isRoot) console.warn('overlay multi-host tests skipped: they need root (namespaces, plugins, containers)');

const TTL_S = 3;

async function engineOk(host: SimHost, args: string[]): Promise<string> {
  const r = await host.engine(args);
  expect(r.code, `${host.name}: engine-lite ${args.join(' ')}\n${r.stdout}${r.stderr}`).toBe(0);
  return r.stdout.trim();
}

/** The container's address on `network` (IPv4, or IPv6 with `v6`). */
async function ipOf(host: SimHost, name: string, network: string, v6 = false): Promise<string> {
  const field = v6 ? 'GlobalIPv6Address' : 'IPAddress';
  return engineOk(host, ['inspect', '-f', `{{with index .NetworkSettings.Networks "${network}"}}{{.${field}}}{{end}}`, name]);
}

async function macOf(host: SimHost, name: string, network: string): Promise<string> {
  return engineOk(host, ['inspect', '-f', `{{with index .NetworkSettings.Networks "${network}"}}{{.MacAddress}}{{end}}`, name]);
}

/** `tsnet status` of the host's networks (TsnetNetwork.Status), by the VNI of each overlay. */
async function overlayStatus(host: SimHost): Promise<Map<number, OverlayStatus>> {
  const reply = await host.plugin.call('network', 'TsnetNetwork.Status', { NetworkID: '' });
  expect(reply.status, reply.text).toBe(200);
  const nets = (reply.json as TsnetNetworkResponses['Status']).Networks;
  return new Map(nets.filter((n) => n.Mode === 'overlay').map((n) => [(n.Details as OverlayStatus).vni, n.Details as OverlayStatus]));
}

/** The static FDB entries (MAC → VTEP) the kernel really has on the host's VXLAN device for `vni`. */
async function kernelFdb(host: SimHost, vni = 4242): Promise<Map<string, string>> {
  const st = (await overlayStatus(host)).get(vni);
  if (!st) return new Map();
  const out = JSON.parse((await mustRun(['bridge', '-n', host.netns, '-j', 'fdb', 'show', 'dev', st.vxlan])).stdout || '[]') as Array<{ mac: string; dst?: string }>;
  return new Map(out.filter((e) => e.dst !== undefined && e.mac !== '00:00:00:00:00:00').map((e) => [e.mac, e.dst!]));
}

async function ping(host: SimHost, container: string, ip: string, extra: string[] = []): Promise<{ ok: boolean; out: string }> {
  const r = await host.exec(container, 'ping', '-c', '1', '-W', '2', ...extra, ip);
  return { ok: r.code === 0, out: r.stdout + r.stderr };
}

async function expectPing(host: SimHost, container: string, ip: string, extra: string[] = []): Promise<void> {
  const r = await ping(host, container, ip, extra);
  expect(r.ok, `${host.name}/${container} → ${ip}: ${r.out}`).toBe(true);
}

/** `Ip: … FragCreates …` of a namespace's /proc/net/snmp: packets the host had to fragment. */
async function fragCreates(host: SimHost): Promise<number> {
  const snmp = (await host.sh(['cat', '/proc/net/snmp'])).stdout.split('\n').filter((l) => l.startsWith('Ip:'));
  const [head, values] = snmp.map((l) => l.split(/\s+/));
  return Number(values![head!.indexOf('FragCreates')]);
}

describe.skipIf(!isRoot)('overlay across three hosts with etcd', () => {
  let cluster: Cluster | undefined;
  const c = () => cluster!;
  const h = (i: number) => c().hosts[i - 1]!;
  let v4 = '';
  let v6 = '';
  let other = '';
  let third = '';
  let fourth = '';
  const ips = new Map<string, string>();

  const createOverlay = (host: SimHost, name: string, vni: number, subnet: string, extra: string[] = []) =>
    host.engine(['network', 'create', '-d', 'tsnet', '-o', 'mode=overlay', '-o', `vni=${vni}`, '--ipam-driver', 'tsipam', '--ipam-opt', 'cluster=true', '--subnet', subnet, ...extra, name]);

  beforeAll(async () => {
    cluster = await startCluster({ hosts: 3, etcd: true, clusterTtlS: TTL_S, only: ['network', 'ipam'] });
    [v4 = '', other = '', third = '', fourth = ''] = await overlaySubnets(c(), 4, 4);
    [v6 = ''] = await overlaySubnets(c(), 6, 1);
    for (const host of c().hosts) {
      const r = await createOverlay(host, 'ov', 4242, v4, ['--ipv6', '--subnet', v6]);
      expect(r.code, `${host.name}: ${r.stdout}${r.stderr}`).toBe(0);
    }
    for (const host of c().hosts) {
      await host.run(`c${host.index}`, 'ov');
      ips.set(`c${host.index}`, await ipOf(host, `c${host.index}`, 'ov'));
      ips.set(`c${host.index}/6`, await ipOf(host, `c${host.index}`, 'ov', true));
    }
  }, 240_000);
  afterAll(() => cluster?.stop());

  it('gives every host the network with MTU 1400 - 50 on the bridge, the VXLAN device and the container', async () => {
    for (const host of c().hosts) {
      const st = (await overlayStatus(host)).get(4242)!;
      expect(st.cluster).toBe('synced');
      const vx = JSON.parse((await mustRun(['ip', '-j', '-d', '-n', host.netns, 'link', 'show', st.vxlan])).stdout)[0];
      expect(vx).toMatchObject({ mtu: 1350, linkinfo: { info_data: { id: 4242, port: 4789, learning: false, proxy: true, local: host.ip } } });
      const inside = await host.exec(`c${host.index}`, 'cat', '/sys/class/net/eth0/mtu');
      expect(inside.stdout.trim()).toBe('1350');
    }
  });

  it('lets containers on different hosts reach each other over IPv4 and IPv6', async () => {
    for (const [from, to] of [[1, 2], [2, 3], [3, 1], [1, 3]] as const) {
      await expectPing(h(from), `c${from}`, ips.get(`c${to}`)!);
      await expectPing(h(from), `c${from}`, ips.get(`c${to}/6`)!);
    }
  });

  it('programs one FDB entry per remote endpoint, pointing at its host', async () => {
    const fdb = await kernelFdb(h(1));
    expect(fdb.get(await macOf(h(2), 'c2', 'ov'))).toBe(h(2).ip);
    expect(fdb.get(await macOf(h(3), 'c3', 'ov'))).toBe(h(3).ip);
    expect(fdb.has(await macOf(h(1), 'c1', 'ov'))).toBe(false);
    const st = (await overlayStatus(h(1))).get(4242)!;
    expect(st.peers.map((p) => p.vtep).sort()).toEqual([h(2).ip, h(3).ip].sort());
    expect(st.neighbors.map((n) => n.ip)).toEqual(expect.arrayContaining([ips.get('c2'), ips.get('c3'), ips.get('c2/6'), ips.get('c3/6')]));
  });

  it('keeps another VNI apart, even for a container that tries the first overlay on-link', async () => {
    for (const host of [h(1), h(2)]) {
      const r = await createOverlay(host, 'ov2', 4343, other);
      expect(r.code, r.stdout + r.stderr).toBe(0);
    }
    await engineOk(h(2), ['run', '-d', '--name', 'd2', '--network', 'ov2', '--cap-add', 'NET_ADMIN', c().image, 'sleep', '86400']);
    const d1 = await h(1).run('d1', 'ov2');
    expect(d1).not.toBe('');
    await expectPing(h(2), 'd2', await ipOf(h(1), 'd1', 'ov2'));
    // d2 claims c1's subnet is on its own link: the ARP request stays in VNI 4343, where nobody answers.
    const route = await h(2).exec('d2', 'ip', 'route', 'add', v4, 'dev', 'eth0');
    expect(route.code, route.stderr).toBe(0);
    expect((await ping(h(2), 'd2', ips.get('c1')!)).ok).toBe(false);
    expect((await ping(h(2), 'd2', ips.get('c2')!)).ok).toBe(false);
    expect([...(await kernelFdb(h(2), 4343)).keys()]).toEqual([await macOf(h(1), 'd1', 'ov2')]);
  });

  it('hands out unique addresses when every host starts containers at once', async () => {
    const names = c().hosts.flatMap((host) => [1, 2, 3, 4, 5].map((n) => ({ host, name: `u${host.index}${n}` })));
    await Promise.all(names.map(({ host, name }) => host.run(name, 'ov')));
    const got = await Promise.all(names.map(({ host, name }) => ipOf(host, name, 'ov')));
    expect(got.every((ip) => ip !== '')).toBe(true);
    expect(new Set([...got, ...[1, 2, 3].map((i) => ips.get(`c${i}`))]).size).toBe(got.length + 3);
    await expectPing(h(1), 'c1', got[names.findIndex((n) => n.name === 'u35')]!);
    await Promise.all(names.map(({ host, name }) => engineOk(host, ['rm', '-f', name])));
  });

  it('removes a container\'s entries on the other hosts when it goes', async () => {
    await h(3).run('gone', 'ov');
    const mac = await macOf(h(3), 'gone', 'ov');
    await vi.waitFor(async () => expect((await kernelFdb(h(1))).has(mac)).toBe(true), { timeout: 5000, interval: 100 });
    await engineOk(h(3), ['rm', '-f', 'gone']);
    await vi.waitFor(
      async () => {
        expect((await kernelFdb(h(1))).has(mac)).toBe(false);
        expect((await kernelFdb(h(2))).has(mac)).toBe(false);
      },
      { timeout: 5000, interval: 100 },
    );
  });

  it('keeps traffic flowing while a plugin is killed, and converges after its restart', async () => {
    await h(2).plugin.kill9();
    await expectPing(h(1), 'c1', ips.get('c2')!);
    await h(1).run('late', 'ov'); // appears while host 2's plugin is down
    const late = await ipOf(h(1), 'late', 'ov');
    await h(2).plugin.restart();
    await vi.waitFor(async () => expect((await ping(h(2), 'c2', late)).ok).toBe(true), { timeout: 10_000, interval: 200 });
    await expectPing(h(1), 'c1', ips.get('c2')!);
    await engineOk(h(1), ['rm', '-f', 'late']);
  });

  it("removes a dead host's endpoints within the lease TTL, and brings them back when it returns", async () => {
    const mac3 = await macOf(h(3), 'c3', 'ov');
    await h(3).plugin.kill9();
    await vi.waitFor(async () => expect((await kernelFdb(h(1))).has(mac3)).toBe(false), { timeout: (TTL_S + 5) * 1000, interval: 200 });
    await h(3).plugin.restart();
    await vi.waitFor(async () => expect((await kernelFdb(h(1))).get(mac3)).toBe(h(3).ip), { timeout: 10_000, interval: 200 });
    await expectPing(h(1), 'c1', ips.get('c3')!);
  });

  it('keeps traffic flowing while etcd is away, refuses new endpoints clearly, and resyncs when it returns', async () => {
    await c().etcd!.kill9();
    try {
      await expectPing(h(1), 'c1', ips.get('c2')!);
      const r = await h(1).engine(['run', '-d', '--name', 'noetcd', '--network', 'ov', c().image, 'sleep', '86400']);
      expect(r.code).not.toBe(0);
      expect(r.stdout + r.stderr).toMatch(/etcd/);
      await expectPing(h(2), 'c2', ips.get('c3')!);
    } finally {
      await c().etcd!.start();
    }
    await h(1).engine(['rm', '-f', 'noetcd']);
    await h(1).run('back', 'ov');
    const back = await ipOf(h(1), 'back', 'ov');
    await vi.waitFor(async () => expect((await ping(h(3), 'c3', back)).ok).toBe(true), { timeout: 15_000, interval: 250 });
    await engineOk(h(1), ['rm', '-f', 'back']);
  });

  it('carries large packets and a TCP transfer without fragmenting', async () => {
    const before = await Promise.all([h(1), h(2)].map(fragCreates));
    // 1300 bytes of ICMP data: a 1328-byte packet, under the 1350 MTU; with the DF bit Linux sets by default.
    await expectPing(h(1), 'c1', ips.get('c2')!, ['-s', '1300']);
    // TCP at full segment size for two seconds (iperf3 in the containers' namespaces).
    const pid = async (host: SimHost, name: string) => Number(await engineOk(host, ['inspect', '-f', '{{.State.Pid}}', name]));
    expect(await throughputGbps(await pid(h(2), 'c2'), ips.get('c2')!, await pid(h(1), 'c1'), 2)).toBeGreaterThan(0.1);
    expect(await Promise.all([h(1), h(2)].map(fragCreates))).toEqual(before);
  });

  it('refuses an endpoint whose address another host already uses (host-local pools), naming the remedy', async () => {
    for (const host of [h(1), h(2)]) await engineOk(host, ['network', 'create', '-d', 'tsnet', '-o', 'mode=overlay', '-o', 'vni=4545', '--subnet', fourth, 'loc']);
    await h(1).run('l1', 'loc');
    const ip = await ipOf(h(1), 'l1', 'loc');
    await vi.waitFor(async () => expect((await overlayStatus(h(2))).get(4545)?.neighbors.map((n) => n.ip)).toContain(ip), { timeout: 5000, interval: 100 });
    const r = await h(2).engine(['run', '-d', '--name', 'l2', '--network', 'loc', c().image, 'sleep', '86400']);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toContain(`address ${ip} is already used on overlay vni 4545 by an endpoint of host`);
    expect(r.stdout + r.stderr).toContain('--ipam-opt cluster=true');
    await h(2).engine(['rm', '-f', 'l2']);
    await engineOk(h(1), ['rm', '-f', 'l1']);
    for (const host of [h(1), h(2)]) await engineOk(host, ['network', 'rm', 'loc']);
  });

  it('replaces its own leftover VXLAN device of a VNI (no "file exists"), and refuses a VNI a foreign device holds', async () => {
    const ours = overlayMacFor(instanceTag(join(h(1).plugin.stateDir, 'network')));
    await mustRun(['ip', '-n', h(1).netns, 'link', 'add', 'tsvx-stray00000', 'address', ours, 'type', 'vxlan', 'id', '4646', 'dstport', '4789', 'nolearning', 'proxy']);
    await mustRun(['ip', '-n', h(1).netns, 'link', 'add', 'foreign0', 'type', 'vxlan', 'id', '4747', 'dstport', '4789', 'nolearning']);
    try {
      await engineOk(h(1), ['network', 'create', '-d', 'tsnet', '-o', 'mode=overlay', '-o', 'vni=4646', '--subnet', fourth, 'left']);
      expect((await h(1).sh(['ip', 'link', 'show', 'tsvx-stray00000'])).code).not.toBe(0);
      const r = await h(1).engine(['network', 'create', '-d', 'tsnet', '-o', 'mode=overlay', '-o', 'vni=4747', '--subnet', third, 'taken']);
      expect(r.code).not.toBe(0);
      expect(r.stdout + r.stderr).toContain('VXLAN vni 4747 on UDP port 4789 is already used on this host by interface "foreign0"');
      await engineOk(h(1), ['network', 'rm', 'left']);
    } finally {
      await h(1).sh(['ip', 'link', 'del', 'foreign0']);
    }
  });

  it('refuses bad input clearly and leaves nothing made', async () => {
    const linksOf = async (host: SimHost) => (await mustRun(['ip', '-n', host.netns, '-o', 'link', 'show'])).stdout.split('\n').filter((l) => /ts(br|vx)-/.test(l)).length;
    const before = await linksOf(h(2));
    const before3 = await linksOf(h(3));
    const noVni = await h(2).engine(['network', 'create', '-d', 'tsnet', '-o', 'mode=overlay', '--subnet', third, 'bad1']);
    expect(noVni.stderr + noVni.stdout).toMatch(/mode overlay needs -o vni=N/);
    const range = await h(2).engine(['network', 'create', '-d', 'tsnet', '-o', 'mode=overlay', '-o', 'vni=16777216', '--subnet', third, 'bad2']);
    expect(range.stderr + range.stdout).toMatch(/"vni" must be a whole number from 1 to 16777215/);
    // Host 3 asks for VNI 4343 (host 1 and 2 have it with `other`) with another subnet.
    const mismatch = await h(3).engine(['network', 'create', '-d', 'tsnet', '-o', 'mode=overlay', '-o', 'vni=4343', '--subnet', third, 'bad3']);
    expect(mismatch.code).not.toBe(0);
    expect(mismatch.stderr + mismatch.stdout).toMatch(/overlay vni 4343 exists in the cluster with other settings \(subnets: cluster has [0-9./]+, this host asked for/);
    expect(await linksOf(h(2))).toBe(before);
    expect((await overlayStatus(h(3))).has(4343)).toBe(false);
    expect((await etcdKeys(c(), '/tsnet/v1/overlay/members/4343/')).length).toBe(2);
    await c().etcd!.kill9();
    try {
      // The shared pool cannot be had, nor (with a host-local pool) the network's definition.
      for (const ipam of [['--ipam-opt', 'cluster=true'], []]) {
        const away = await h(3).engine(['network', 'create', '-d', 'tsnet', '-o', 'mode=overlay', '-o', 'vni=4444', ...ipam, '--subnet', third, 'bad4']);
        expect(away.code).not.toBe(0);
        expect(away.stderr + away.stdout).toMatch(/etcd is unreachable/);
      }
    } finally {
      await c().etcd!.start();
    }
    expect((await overlayStatus(h(3))).has(4444)).toBe(false);
    expect(await linksOf(h(3))).toBe(before3);
    expect(await etcdKeys(c(), '/tsnet/v1/overlay/networks/4444')).toEqual([]);
    const net = await h(3).engine(['network', 'ls', '--format', '{{.Name}}']);
    expect(net.stdout).not.toMatch(/bad/);
  });
});

describe.skipIf(!isRoot)('overlay on a host without --cluster-store', () => {
  let cluster: Cluster | undefined;
  afterAll(() => cluster?.stop());

  it('works on its own host, and refuses the cluster-wide recipe with the flag to add', async () => {
    cluster = await startCluster({ hosts: 2, etcd: true, clusterHosts: (n) => n === 1, only: ['network', 'ipam'] });
    const [subnet] = await overlaySubnets(cluster, 4, 1);
    const [h1, h2] = cluster.hosts as [SimHost, SimHost];
    await engineOk(h1, ['network', 'create', '-d', 'tsnet', '-o', 'mode=overlay', '-o', 'vni=77', '--ipam-driver', 'tsipam', '--ipam-opt', 'cluster=true', '--subnet', subnet!, 'ov']);
    const refused = await h2.engine(['network', 'create', '-d', 'tsnet', '-o', 'mode=overlay', '-o', 'vni=77', '--ipam-driver', 'tsipam', '--ipam-opt', 'cluster=true', '--subnet', subnet!, 'ov']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr + refused.stdout).toMatch(/--cluster-store/);
    expect((await h2.engine(['network', 'ls', '--format', '{{.Name}}'])).stdout).not.toMatch(/\bov\b/);
    // The single-host overlay (host-local addresses) still works on host 2 by itself.
    await engineOk(h2, ['network', 'create', '-d', 'tsnet', '-o', 'mode=overlay', '-o', 'vni=77', '--subnet', subnet!, 'solo']);
    await h2.run('sa', 'solo');
    await h2.run('sb', 'solo');
    await expectPing(h2, 'sa', await ipOf(h2, 'sb', 'solo'));
  }, 180_000);
});
