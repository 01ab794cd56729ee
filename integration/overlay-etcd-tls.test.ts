/**
 * An overlay across two simulated hosts (testing/cluster/multihost.ts, engine-lite, no dockerd) whose
 * cluster store is an etcd that wants TLS with client certificates and etcd auth (`etcds://`,
 * `--cluster-ca/--cluster-cert/--cluster-key`, `--cluster-user`, `--cluster-password-file`), with
 * tokens that live 2 s unused. Containers on the two hosts reach each other; after an etcd restart
 * (every token gone) a new container on one host is learnt by the other through its watch; the
 * plugins never log the password.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot } from '../testing/kernel/netns.js';
import { etcdKeys, overlaySubnets, startCluster, type Cluster, type SimHost } from '../testing/cluster/multihost.js';
import { pollUntil } from '../testing/system.js';

if (!isRoot) console.warn('overlay over a TLS+auth etcd skipped: it needs root (namespaces, plugins, containers)');

async function ipOf(host: SimHost, name: string): Promise<string> {
  const r = await host.engine(['inspect', '-f', '{{with index .NetworkSettings.Networks "ov"}}{{.IPAddress}}{{end}}', name]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

/** Whether `container` on `host` gets a ping reply from `ip` within 10 s. */
const reaches = (host: SimHost, container: string, ip: string) =>
  pollUntil(async () => (await host.exec(container, 'ping', '-c', '1', '-W', '1', ip)).code === 0, { timeoutMs: 10_000, intervalMs: 200 });

describe.skipIf(!isRoot)('overlay over an etcd with TLS client certificates and auth', () => {
  let cluster: Cluster | undefined;
  const c = () => cluster!;
  const h = (i: number) => c().hosts[i - 1]!;

  beforeAll(async () => {
    cluster = await startCluster({ hosts: 2, etcd: true, secureEtcd: { authTokenTtlS: 2 }, clusterTtlS: 6, only: ['network', 'ipam'] });
    const [subnet = ''] = await overlaySubnets(c(), 4, 1);
    for (const host of c().hosts) {
      const r = await host.engine(['network', 'create', '-d', 'tsnet', '-o', 'mode=overlay', '-o', 'vni=4242', '--ipam-driver', 'tsipam', '--ipam-opt', 'cluster=true', '--subnet', subnet, 'ov']);
      expect(r.code, `${host.name}: ${r.stdout}${r.stderr}`).toBe(0);
      await host.run(`c${host.index}`, 'ov');
    }
  }, 240_000);
  afterAll(() => cluster?.stop());

  it('serves the overlay: the etcd is etcds:// with auth, and containers on the two hosts reach each other', async () => {
    expect(c().etcd!.url).toMatch(/^etcds:\/\//);
    expect(await etcdKeys(c(), '/tsnet/v1/overlay/endpoints/4242/')).toHaveLength(2);
    expect(await reaches(h(1), 'c1', await ipOf(h(2), 'c2'))).toBe(true);
    expect(await reaches(h(2), 'c2', await ipOf(h(1), 'c1'))).toBe(true);
  });

  it('learns a new remote container after an etcd restart invalidated every token', async () => {
    await c().etcd!.kill9();
    await c().etcd!.start();
    await h(2).run('c3', 'ov');
    expect(await reaches(h(1), 'c1', await ipOf(h(2), 'c3'))).toBe(true);
    expect(await etcdKeys(c(), '/tsnet/v1/overlay/endpoints/4242/')).toHaveLength(3);
  }, 60_000);

  it('never logs the etcd password', () => {
    for (const host of c().hosts) {
      expect(host.plugin.logs()).toContain('joined the cluster');
      expect(host.plugin.logs()).not.toContain(c().etcdPassword!);
    }
  });
});
