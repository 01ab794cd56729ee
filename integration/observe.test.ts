/**
 * `tsnet serve --metrics-addr` end to end on the host's dockerd: after a bridge network on a tsipam pool,
 * a container with a published port, a size-limited volume and a refused call, `/metrics` counts them
 * and has the call histogram, `/healthz` answers 200; and in Debian's headless chromium the topology
 * page shows a network and a container the test makes, then drops them when they are removed, every
 * update pushed by server-sent events without a reload or a poll (a screenshot is saved in
 * test-artifacts/observe/); with the event stream refused, the page polls.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort, testPrefixes } from '../network-driver/modes/testing/fixture-world.js';
import { startSuite, type SuiteHandle } from '../testing/docker/plugin-harness.js';
import { dockerRuntime, type Runtime } from '../testing/docker/runtime.js';
import { ensurePackages, repoRoot } from '../testing/system.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('observe integration tests skipped: they need root (dockerd, links)');

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(repoRoot(), 'test-artifacts', 'observe');

let suite: SuiteHandle | undefined;
let rt: Runtime;
let base = '';
const hex = randomBytes(3).toString('hex');
const made = { containers: [] as string[], networks: [] as string[], volumes: [] as string[] };

beforeAll(async () => {
  if (!isRoot) return;
  const port = await freePort();
  suite = await startSuite({ args: ['--metrics-addr', `127.0.0.1:${port}`] });
  rt = dockerRuntime(suite, inject('testImage'));
  base = `http://127.0.0.1:${port}`;
});

afterEach(async () => {
  for (const c of made.containers.splice(0)) await rt.cli(['rm', '-f', c]);
  for (const n of made.networks.splice(0)) await rt.cli(['network', 'rm', n]);
  for (const v of made.volumes.splice(0)) await rt.cli(['volume', 'rm', '-f', v]);
});

afterAll(async () => {
  await suite?.stop();
});

/** The samples of a Prometheus text exposition, `name{labels}` → value (labels as written). */
async function scrape(): Promise<Map<string, number>> {
  const res = await fetch(`${base}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const samples = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    const m = /^([a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (m) samples.set(m[1]!, Number(m[2]));
  }
  return samples;
}

/** A bridge network on a tsipam pool (an unreachable-guarded test /24), with `docker run` of a sleeper publishing `hostPort`. */
async function networkWithContainer(subnet: string, hostPort: number): Promise<{ net: string; netId: string; container: string; endpointId: string }> {
  const net = `tstest-obs-${hex}-${randomBytes(2).toString('hex')}`;
  const netId = (await rt.ok(['network', 'create', '-d', rt.drivers.network, '--ipam-driver', rt.drivers.ipam, '--subnet', subnet, net])).trim();
  made.networks.push(net);
  const container = `${net}-c`;
  await rt.ok(['run', '-d', '--name', container, '--network', net, '-p', `127.0.0.1:${hostPort}:80`, rt.image, 'sleep', '600']);
  made.containers.unshift(container);
  const nets = JSON.parse(await rt.ok(['inspect', '-f', '{{json .NetworkSettings.Networks}}', container])) as Record<string, { EndpointID: string }>;
  return { net, netId, container, endpointId: nets[net]!.EndpointID };
}

describe.skipIf(!isRoot)('tsnet serve --metrics-addr', () => {
  it('answers /healthz 200 once every plugin serves', async () => {
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok\n');
  });

  it('counts networks, endpoints, ports, pool addresses and volumes, and times every call', async () => {
    const prefixes = await testPrefixes();
    const subnet = prefixes.v4(0);
    await networkWithContainer(subnet, await freePort());
    const vol = `tstest-obs-${hex}-vol`;
    await rt.ok(['volume', 'create', '-d', rt.drivers.volume, '-o', 'size=16M', vol]);
    made.volumes.push(vol);
    const refused = await rt.cli(['volume', 'create', '-d', rt.drivers.volume, '-o', 'colour=red', `tstest-obs-${hex}-bad`]);
    expect(refused.code).not.toBe(0);

    const m = await scrape();
    expect(m.get('tsnet_plugin_up{plugin="network"}')).toBe(1);
    expect(m.get('tsnet_plugin_up{plugin="ipam"}')).toBe(1);
    expect(m.get('tsnet_plugin_up{plugin="volume"}')).toBe(1);
    expect(m.get('tsnet_networks{mode="bridge"}')).toBe(1);
    expect(m.get('tsnet_endpoints{mode="bridge",joined="true"}')).toBe(1);
    expect(m.get('tsnet_published_ports{mode="bridge"}')).toBe(1);
    // A /24 has 254 usable addresses: the gateway and the container hold two.
    const pool = [...m.keys()].filter((k) => k.startsWith('tsnet_ipam_pool_addresses{') && k.includes(`subnet="${subnet}"`));
    expect(pool.map((k) => [k.replace(/.*state="(\w+)".*/, '$1'), m.get(k)]).sort()).toEqual([['free', 252], ['used', 2]]);
    expect([...m.entries()].filter(([k]) => k.startsWith('tsnet_ipam_pools{')).map(([, v]) => v)).toEqual([1]);
    expect(m.get('tsnet_volumes{type="local"}')).toBe(1);
    expect(m.get('tsnet_volume_limit_bytes{type="local"}')).toBe(16 * 1024 * 1024);
    expect(m.get('tsnet_volume_used_bytes{type="local"}')).toBeGreaterThan(0); // an ext4 image's own metadata
    expect(m.get('tsnet_plugin_start_seconds{plugin="network"}')).toBeGreaterThan(0);

    const count = (plugin: string, method: string, outcome: string) =>
      m.get(`tsnet_plugin_call_duration_seconds_count{plugin="${plugin}",method="${method}",outcome="${outcome}"}`) ?? 0;
    expect(count('network', 'NetworkDriver.CreateNetwork', 'ok')).toBe(1);
    expect(count('network', 'NetworkDriver.Join', 'ok')).toBe(1);
    expect(count('network', 'NetworkDriver.ProgramExternalConnectivity', 'ok')).toBe(1);
    expect(count('ipam', 'IpamDriver.RequestPool', 'ok')).toBe(1);
    expect(count('ipam', 'IpamDriver.RequestAddress', 'ok')).toBeGreaterThanOrEqual(2);
    expect(count('volume', 'VolumeDriver.Create', 'ok')).toBe(1);
    expect(count('volume', 'VolumeDriver.Create', 'refused')).toBe(1);
    // The Get that comes before each create finds nothing: routine, not a refusal.
    expect(count('volume', 'VolumeDriver.Get', 'expected')).toBeGreaterThanOrEqual(2);
    expect(count('volume', 'VolumeDriver.Get', 'refused')).toBe(0);
    const bucket = m.get('tsnet_plugin_call_duration_seconds_bucket{le="+Inf",plugin="network",method="NetworkDriver.CreateNetwork",outcome="ok"}');
    expect(bucket).toBe(1);
    expect(m.get('tsnet_plugin_call_duration_seconds_sum{plugin="network",method="NetworkDriver.CreateNetwork",outcome="ok"}')).toBeGreaterThan(0);

    // The refusal is listed for the page, newest first, with the driver's message.
    const topo = (await (await fetch(`${base}/api/topology`)).json()) as { recent: Array<{ plugin: string; call: string; status: number; err: string }> };
    expect(topo.recent[0]).toMatchObject({ plugin: 'volume', call: 'VolumeDriver.Create', status: 400 });
    expect(topo.recent[0]!.err).toMatch(/option "colour" is unknown/);
    expect(topo.recent.filter((r) => r.call === 'VolumeDriver.Get')).toEqual([]);

    // Removed objects leave the gauges (no stale label sets).
    for (const c of made.containers.splice(0)) await rt.ok(['rm', '-f', c]);
    for (const n of made.networks.splice(0)) await rt.ok(['network', 'rm', n]);
    for (const v of made.volumes.splice(0)) await rt.ok(['volume', 'rm', v]);
    const after = await scrape();
    expect([...after.keys()].filter((k) => /^tsnet_(networks|endpoints|published_ports|ipam_pools|ipam_pool_addresses|volumes)\{/.test(k))).toEqual([]);
    expect(after.get('tsnet_plugin_call_duration_seconds_count{plugin="network",method="NetworkDriver.DeleteNetwork",outcome="ok"}')).toBe(1);
  });

  it('shows a network and a container on the topology page in headless chromium as pushed by server-sent events, then drops them; polls while the stream is refused', async () => {
    await ensurePackages(['chromium']);
    const prefixes = await testPrefixes();
    const profile = await mkdtemp('/tmp/tstest-');
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
      viewport: { width: 1280, height: 900 },
    });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      const polls: string[] = [];
      page.on('request', (r) => void (r.url().endsWith('/api/topology') && polls.push(r.url())));
      await page.goto(`${base}/`);
      await page.waitForSelector('#plugins .ok');
      await page.waitForSelector('#updated[data-mode="live"]');
      const { netId, endpointId } = await networkWithContainer(prefixes.v4(1), await freePort());
      const netRow = page.locator(`#networks tr[data-key="${netId}"]`);
      const epRow = page.locator(`#endpoints tr[data-key="${endpointId}"]`);
      await netRow.waitFor({ timeout: 10_000 });
      await epRow.waitFor({ timeout: 10_000 });
      expect(await netRow.locator('td').allTextContents()).toEqual([netId.slice(0, 12), 'bridge', prefixes.v4(1), '1', '2 / 254']);
      expect(await epRow.locator('td').nth(0).textContent()).toBe(endpointId.slice(0, 12));
      expect(await epRow.locator('td').nth(2).textContent()).toMatch(new RegExp(`^${prefixes.ip4(1, 0).replace(/\.0$/, '\\.')}\\d+/24$`));
      await mkdir(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'topology.png'), fullPage: true });

      for (const c of made.containers.splice(0)) await rt.ok(['rm', '-f', c]);
      await epRow.waitFor({ state: 'detached', timeout: 10_000 });
      for (const n of made.networks.splice(0)) await rt.ok(['network', 'rm', n]);
      await netRow.waitFor({ state: 'detached', timeout: 10_000 });
      // Every update came by the event stream, none by polling, and the page was never reloaded.
      expect(polls).toEqual([]);

      const refused = await context.newPage();
      await refused.route('**/api/events', (r) => r.abort());
      await refused.goto(`${base}/`);
      await refused.waitForSelector('#updated[data-mode="polling"]');
      await refused.waitForSelector('#plugins .ok');
    } finally {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    }
  });
});
