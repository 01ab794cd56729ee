/**
 * @module `tsnet doctor` for overlay and macvlan on the multi-host harness (simulated hosts, real etcd,
 * engine-lite; no dockerd, so `--docker-host none`): an FDB entry and a neighbour entry deleted by hand
 * on one overlay host, and a macvlan child deleted inside its container plus the host shim deleted (on
 * a test LAN made in the simulated host),
 * are each named by doctor with exit 1; `--fix` repairs them, traffic works again and doctor reports
 * clean. With the real cluster, the metrics of the cluster session, of each overlay's peers and entries,
 * and of what the start-up reconcile repaired (entries deleted while the plugin was down).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot } from '../testing/kernel/netns.js';
import type { TsnetNetworkResponses } from '../network-driver/admin-api.js';
import type { OverlayStatus } from '../network-driver/modes/overlay/status.js';
import { firstAddress, makeTestLan, pings } from '../network-driver/modes/testing/fixture-lan.js';
import { overlaySubnets, startCluster, type Cluster, type SimHost } from '../testing/cluster/multihost.js';
import { cliPath } from '../testing/docker/plugin-harness.js';
import { mustRun, tryRun } from '../testing/system.js';

if (!isRoot) console.warn('doctor multi-host tests skipped: they need root (namespaces, plugins, containers, etcd)');

const doctor = (host: SimHost, ...args: string[]) => tryRun(['node', cliPath(), 'doctor', '--plugins-dir', host.plugin.pluginsDir, '--docker-host', 'none', ...args]);

async function engineOk(host: SimHost, args: string[]): Promise<string> {
  const r = await host.engine(args);
  expect(r.code, `${host.name}: engine-lite ${args.join(' ')}\n${r.stdout}${r.stderr}`).toBe(0);
  return r.stdout.trim();
}

const inspect = (host: SimHost, name: string, format: string) => engineOk(host, ['inspect', '-f', format, name]);
const netField = (host: SimHost, name: string, net: string, field: string) => inspect(host, name, `{{with index .NetworkSettings.Networks "${net}"}}{{.${field}}}{{end}}`);

async function vxlanOf(host: SimHost, vni: number): Promise<string> {
  const reply = await host.plugin.call('network', 'TsnetNetwork.Status', { NetworkID: '' });
  const nets = (reply.json as TsnetNetworkResponses['Status']).Networks;
  const st = nets.map((n) => n.Details as OverlayStatus).find((d) => d.vni === vni);
  if (!st) throw new Error(`${host.name} has no overlay with vni ${vni}`);
  return st.vxlan;
}

/** Port of `--metrics-addr` on every simulated host's own loopback. */
const METRICS_PORT = 9464;
const FETCH = 'fetch(process.argv[1], { signal: AbortSignal.timeout(5000) }).then((r) => r.text()).then((t) => console.log(t))';

/** The value of one sample of the host's `/metrics` (fetched inside its namespace); undefined when absent. */
async function metric(host: SimHost, sample: string): Promise<number | undefined> {
  const r = await host.sh([process.execPath, '-e', FETCH, `http://127.0.0.1:${METRICS_PORT}/metrics`]);
  expect(r.code, r.stderr).toBe(0);
  const line = r.stdout.split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? undefined : Number(line.slice(sample.length + 1));
}

const pingFrom = async (host: SimHost, container: string, ip: string) => (await host.exec(container, 'ping', '-c', '1', '-W', '2', ip)).code === 0;

/** Doctor finds drift naming each object in `names` (exit 1), `--fix` ends clean (exit 0), doctor then finds nothing. */
async function expectFoundAndFixed(host: SimHost, names: RegExp[]): Promise<string> {
  const broken = await doctor(host);
  expect(broken.code, broken.stdout + broken.stderr).toBe(1);
  for (const n of names) expect(broken.stdout).toMatch(n);
  const fixed = await doctor(host, '--fix');
  expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
  expect(fixed.stdout).toMatch(/fixed: \d+ finding\(s\); the host now matches the records/);
  const clean = await doctor(host);
  expect(clean.code, clean.stdout).toBe(0);
  expect(clean.stdout.trim()).toBe('no drift: the host matches the records');
  return broken.stdout;
}

describe.skipIf(!isRoot)('tsnet doctor on overlay and macvlan hosts', () => {
  let cluster: Cluster | undefined;
  const h = (i: number) => cluster!.hosts[i - 1]!;
  let overlayNet = '';
  let lanNet = '';

  beforeAll(async () => {
    cluster = await startCluster({ hosts: 2, etcd: true, only: ['network', 'ipam'], serveArgs: () => ['--metrics-addr', `127.0.0.1:${METRICS_PORT}`] });
    [overlayNet = '', lanNet = ''] = await overlaySubnets(cluster, 4, 2);
    for (const host of cluster.hosts) {
      await engineOk(host, ['network', 'create', '-d', 'tsnet', '-o', 'mode=overlay', '-o', 'vni=4343', '--ipam-driver', 'tsipam', '--ipam-opt', 'cluster=true', '--subnet', overlayNet, 'ov']);
      await host.run(`c${host.index}`, 'ov');
    }
  }, 240_000);
  afterAll(() => cluster?.stop());

  it('is clean on both hosts after the scenario', async () => {
    for (const host of cluster!.hosts) {
      const r = await doctor(host);
      expect(r.code, r.stdout + r.stderr).toBe(0);
    }
  });

  it("shows the cluster session and each overlay's peers and programmed entries as metrics", async () => {
    const network = (await h(1).plugin.call('network', 'TsnetNetwork.Status', { NetworkID: '' })).json as TsnetNetworkResponses['Status'];
    const id = network.Networks.find((n) => n.Mode === 'overlay')!.ID.slice(0, 12);
    const r = await h(1).sh([process.execPath, '-e', FETCH, `http://127.0.0.1:${METRICS_PORT}/metrics`]);
    expect(r.stdout).toMatch(/^tsnet_cluster_etcd_up\{host="[^"]+"\} 1$/m);
    expect(r.stdout).toMatch(/^tsnet_cluster_live_lease_age_seconds\{host="[^"]+"\} \d/m);
    expect(await metric(h(1), `tsnet_overlay_peers{network="${id}"}`)).toBe(1);
    expect(await metric(h(1), `tsnet_overlay_fdb_entries{network="${id}"}`)).toBe(1);
    expect(await metric(h(1), `tsnet_overlay_neighbor_entries{network="${id}"}`)).toBe(1);
    expect(await metric(h(1), 'tsnet_start_reconcile_actions{plugin="network"}')).toBe(0);
  });

  it('names an FDB and a neighbour entry deleted by hand, --fix reprograms them from etcd, traffic works again', async () => {
    const ip2 = await netField(h(2), 'c2', 'ov', 'IPAddress');
    const mac2 = await netField(h(2), 'c2', 'ov', 'MacAddress');
    expect(await pingFrom(h(1), 'c1', ip2)).toBe(true);
    const vx = await vxlanOf(h(1), 4343);
    await mustRun(['bridge', '-n', h(1).netns, 'fdb', 'del', mac2, 'dev', vx, 'dst', h(2).ip, 'self']);
    await mustRun(['ip', '-n', h(1).netns, 'neigh', 'del', ip2, 'dev', vx]);
    expect(await pingFrom(h(1), 'c1', ip2)).toBe(false);
    const out = await expectFoundAndFixed(h(1), [
      new RegExp(`FDB entry ${mac2} on ${vx} \\(network [0-9a-f]{12}\\): expected to VTEP ${h(2).ip.replaceAll('.', '\\.')} \\(endpoint [0-9a-f]{12} of host [^)]+\\), found missing`),
      new RegExp(`neighbour entry ${ip2.replaceAll('.', '\\.')} on ${vx} .*expected MAC ${mac2}.*found missing`),
    ]);
    expect(out.trim().split('\n')).toHaveLength(2);
    expect(await pingFrom(h(1), 'c1', ip2)).toBe(true);
  });

  it('counts at start what the reconcile repaired: entries deleted while the plugin was down', async () => {
    const ip2 = await netField(h(2), 'c2', 'ov', 'IPAddress');
    const mac2 = await netField(h(2), 'c2', 'ov', 'MacAddress');
    const vx = await vxlanOf(h(1), 4343);
    await h(1).plugin.stop();
    await mustRun(['bridge', '-n', h(1).netns, 'fdb', 'del', mac2, 'dev', vx, 'dst', h(2).ip, 'self']);
    await mustRun(['ip', '-n', h(1).netns, 'neigh', 'del', ip2, 'dev', vx]);
    await h(1).plugin.start();
    expect(await metric(h(1), 'tsnet_start_reconcile_actions{plugin="network"}')).toBe(2);
    await expect.poll(() => pingFrom(h(1), 'c1', ip2), { timeout: 15_000, interval: 500 }).toBe(true);
    expect((await doctor(h(1))).code).toBe(0);
  });

  it('names a macvlan child deleted inside its container and a deleted host shim; --fix re-makes both, the host reaches the container again', async () => {
    const host = h(1);
    const lan = await makeTestLan({ subnets: [lanNet], hostNs: host.netns });
    host.defer(() => lan.remove());
    const parent = lan.parent;
    await engineOk(host, ['network', 'create', '-d', 'tsnet', '-o', 'mode=macvlan', '-o', `parent=${parent}`, '-o', 'host_access=true', '--subnet', lanNet, '--gateway', firstAddress(lanNet), 'lan']);
    await host.run('m1', 'lan');
    const ip = await netField(host, 'm1', 'lan', 'IPAddress');
    const ping = () => pings(ip, { netns: host.netns });
    expect(await ping()).toBe(true);

    const sandbox = await inspect(host, 'm1', '{{.NetworkSettings.SandboxKey}}');
    const shim = (await mustRun(['ip', '-n', host.netns, '-o', 'link', 'show', 'type', 'macvlan'])).stdout.match(/\b(tsmvh[0-9a-f]{10})@/)?.[1];
    expect(shim, 'the host shim').toBeDefined();
    await mustRun(['ip', '-n', sandbox.split('/').pop()!, 'link', 'del', 'eth0']);
    await mustRun(['ip', '-n', host.netns, 'link', 'del', shim!]);
    expect(await ping()).toBe(false);

    await expectFoundAndFixed(host, [
      new RegExp(`host shim ${shim} of network [0-9a-f]{12}: expected a bridge-mode macvlan on ${parent}, found no such link`),
      new RegExp(`macvlan child tsmv[0-9a-f]{11} of endpoint [0-9a-f]{12} \\(network [0-9a-f]{12}\\): expected a bridge-mode macvlan on ${parent} with MAC [0-9a-f:]{17} inside container ${sandbox}, found no macvlan interface there`),
    ]);
    expect(await ping()).toBe(true);
    expect((await host.exec('m1', 'ip', '-o', 'link', 'show', 'eth0')).stdout).toMatch(/eth0@/);
  });
});
