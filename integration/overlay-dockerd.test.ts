/**
 * The overlay scenario with a real dockerd on each of two simulated hosts (each dockerd in its host's
 * namespace and a private mount namespace that sees only that host's plugin sockets), as a user runs
 * it: `docker network create -d tsnet -o mode=overlay -o vni=… --ipam-driver tsipam --ipam-opt
 * cluster=true` on each host, containers on both, reachability both ways, `tsnet status`, and the
 * other host forgetting a removed container.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { isRoot } from '../testing/kernel/netns.js';
import { startHostDockerd, type HostDockerd } from '../testing/docker/host-dockerd.js';
import { overlaySubnets, startCluster, type Cluster } from '../testing/cluster/multihost.js';
import { cliPath } from '../testing/docker/plugin-harness.js';
import { mustRun } from '../testing/system.js';

if (!isRoot) console.warn('overlay dockerd tests skipped: they need root (namespaces, dockerd)');

const IMAGE = 'tstest-mh/busybox:latest';

describe.skipIf(!isRoot)('overlay with a real dockerd on each simulated host', () => {
  let cluster: Cluster | undefined;
  const dockerds: HostDockerd[] = [];
  const d = (i: number) => dockerds[i - 1]!;

  async function dockerOk(i: number, args: string[]): Promise<string> {
    const r = await d(i).docker(args);
    expect(r.code, `host ${i}: docker ${args.join(' ')}\n${r.stdout}${r.stderr}`).toBe(0);
    return r.stdout.trim();
  }
  const ipOf = (i: number, name: string) => dockerOk(i, ['inspect', '-f', '{{(index .NetworkSettings.Networks "ov").IPAddress}}', name]);
  const ping = (i: number, name: string, ip: string) => d(i).docker(['exec', name, 'ping', '-c', '1', '-W', '2', ip]);

  beforeAll(async () => {
    cluster = await startCluster({ hosts: 2, etcd: true, only: ['network', 'ipam'] });
    for (const host of cluster.hosts) dockerds.push(await startHostDockerd(host, IMAGE));
    const [subnet] = await overlaySubnets(cluster, 4, 1);
    for (const i of [1, 2]) {
      await dockerOk(i, ['network', 'create', '-d', 'tsnet', '-o', 'mode=overlay', '-o', 'vni=5005', '--ipam-driver', 'tsipam', '--ipam-opt', 'cluster=true', '--subnet', subnet!, 'ov']);
      await dockerOk(i, ['run', '-d', '--name', `w${i}`, '--network', 'ov', IMAGE, 'sleep', '86400']);
    }
  }, 240_000);
  afterAll(() => cluster?.stop());

  it('gives the containers distinct addresses from the shared pool, and they reach each other both ways', async () => {
    const [ip1, ip2] = [await ipOf(1, 'w1'), await ipOf(2, 'w2')];
    expect(ip1).not.toBe(ip2);
    for (const [from, ip] of [[1, ip2], [2, ip1]] as const) {
      const r = await ping(from, `w${from}`, ip);
      expect(r.code, r.stdout + r.stderr).toBe(0);
    }
    expect((await dockerOk(1, ['exec', 'w1', 'cat', '/sys/class/net/eth0/mtu']))).toBe('1350');
  });

  it('shows the peer and its entries in tsnet status', async () => {
    const out = (await mustRun([process.execPath, cliPath(), 'status', '--plugins-dir', cluster!.hosts[0]!.plugin.pluginsDir])).stdout;
    expect(out).toMatch(/overlay vni 5005 {2}device tsvx-\S+ {2}local VTEP \S+ {2}cluster synced/);
    expect(out).toContain(`VTEP ${cluster!.hosts[1]!.ip}  1 endpoint(s)`);
    expect(out).toMatch(new RegExp(`fdb \\S+ -> ${cluster!.hosts[1]!.ip.replace(/\./g, '\\.')}`));
    expect(out).toContain(`neighbour ${await ipOf(2, 'w2')} -> `);
  });

  it('makes the other host forget a removed container', async () => {
    const ip2 = await ipOf(2, 'w2');
    await dockerOk(2, ['rm', '-f', 'w2']);
    await vi.waitFor(
      async () => {
        const out = (await mustRun([process.execPath, cliPath(), 'status', '--json', '--plugins-dir', cluster!.hosts[0]!.plugin.pluginsDir])).stdout;
        expect(out).not.toContain(`"${ip2}"`);
      },
      { timeout: 5000, interval: 100 },
    );
    expect((await ping(1, 'w1', ip2)).code).not.toBe(0);
  });
});
