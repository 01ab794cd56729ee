/**
 * Agreement with Docker and healing (docker-sync/), end to end on a private dockerd whose socket the
 * suite (`tsnet serve --docker-host unix://…`) reads: calls lost while the suite was down are made good
 * (no network, bridge, veth, address or volume mount of ours left), containers that dockerd could not
 * start for lack of the plugins are started once the suite serves (a user-stopped one stays stopped),
 * and kill -9 churn during `docker run` leaves tsipam holding exactly what runs.
 */
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findLink } from '../common/kernel/links.js';
import { nameFromId } from '../network-driver/modes/shared/names.js';
import { BRIDGE_PREFIX } from '../network-driver/modes/bridge-core/options.js';
import { HOST_VETH_PREFIX } from '../network-driver/modes/bridge-core/endpoint-state.js';
import { testPrefixes } from '../network-driver/modes/testing/fixture-world.js';
import { engineLiteRuntime, type EngineLiteRuntime } from '../testing/docker/engine-lite-runtime.js';
import { cliPath, DOCKER_SPEC_DIR, pluginCall, startSuite, type SuiteHandle } from '../testing/docker/plugin-harness.js';
import type { PrivateDockerd } from '../testing/docker/private-dockerd.js';
import { forgetInstanceKernelState, instanceBridges } from '../testing/docker/reboot.js';
import type { Runtime } from '../testing/docker/runtime.js';
import { mustRun, pollUntil } from '../testing/system.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('docker-sync tests skipped: they need root (a private dockerd, links, mounts)');

const IMAGE = 'tsnet-test/busybox:latest';
/** Agreement judges an object 10 s after first seeing it (SETTLE_MS); polls allow for that and a pass. */
const AGREE_MS = 45_000;

let daemon: PrivateDockerd | undefined;
let suite: SuiteHandle | undefined;
let rt: Runtime;

beforeAll(async () => {
  if (!isRoot) return;
  const { startPrivateDockerd } = await import('../testing/docker/private-dockerd.js');
  daemon = await startPrivateDockerd(IMAGE);
  suite = await startSuite({ sync: { dockerHost: daemon.host, heal: true } });
  rt = daemon.runtime(suite.driverNames, IMAGE);
});

afterAll(async () => {
  await daemon?.stop();
  await suite?.stop();
});

/**
 * Stands in for the stopped suite on its sockets: every call fails at once. dockerd retries a dead socket
 * for 30 s per call before it gives up (and then goes on exactly as after this error), which would make
 * each scenario take minutes; the plugins receive the calls no more than with the suite really down.
 */
async function suiteDown(): Promise<() => Promise<void>> {
  const servers: Server[] = [];
  for (const socket of Object.values(suite!.sockets)) {
    await rm(socket, { force: true });
    const server = createServer((_req, res) => res.writeHead(500, { 'Content-Type': 'application/json' }).end('{"Err":"the suite is down (test stand-in)"}'));
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    servers.push(server);
  }
  return async () => {
    for (const server of servers) await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}

/** The suite's log without its per-request lines, for failure messages. */
const logTail = () => suite!.logs().split('\n').filter((l) => !l.includes('"msg":"request"')).join('\n').slice(-6000);

const name = (what: string) => `tstest-dsy${what}-${randomBytes(3).toString('hex')}`;

/** The admin CLI's JSON answer (`tsnet status`, `tsnet ipam ls`, `tsnet volume ls`) from `of` (default: the file's suite). */
async function admin<T>(args: string[], of = suite!): Promise<T> {
  const r = await mustRun([process.execPath, cliPath(), ...args, '--plugins-dir', of.pluginsDir, '--json']);
  return JSON.parse(r.stdout) as T;
}
type Status = { Networks: Array<{ ID: string; Endpoints: Array<{ ID: string; Address: string }> }> };
type Pools = Array<{ Subnet: string; Used: string }>;
type Volumes = Array<{ Name: string; Status: { MountCount: number } }>;
const networkIds = async (of = suite!) => (await admin<Status>(['status'], of)).Networks.map((n) => n.ID);
const poolOf = async (subnet: string, of = suite!) => (await admin<Pools>(['ipam', 'ls'], of)).find((p) => p.Subnet === subnet);
const mountCountOf = async (volume: string, of = suite!) => (await admin<Volumes>(['volume', 'ls'], of)).find((v) => v.Name === volume)?.Status.MountCount;
interface Inspected {
  State: { Running: boolean; Error: string };
  NetworkSettings: { Networks: Record<string, { EndpointID: string; IPAddress: string }> };
}
const inspect = async (ref: string) => (JSON.parse(await rt.ok(['inspect', ref])) as Inspected[])[0]!;
const networkId = async (net: string) => (JSON.parse(await rt.ok(['network', 'inspect', net])) as Array<{ Id: string }>)[0]!.Id;

describe.skipIf(!isRoot)('agreement with Docker after calls were lost', () => {
  it('releases the network, bridge, veth, addresses and volume mount that Docker removed while the suite was down', { timeout: 240_000 }, async () => {
    const p = await testPrefixes();
    const net = name('net');
    const vol = name('vol');
    const c = name('c');
    try {
      await rt.ok(['network', 'create', '-d', rt.drivers.network, '--ipam-driver', rt.drivers.ipam, '-o', 'mode=bridge', '--subnet', p.v4(0), net]);
      await rt.ok(['volume', 'create', '-d', rt.drivers.volume, '-o', 'size=16m', vol]);
      await rt.ok(['run', '-d', '--name', c, '--network', net, '-v', `${vol}:/data`, rt.image, 'sleep', '600']);
      const netId = await networkId(net);
      const epId = (await inspect(c)).NetworkSettings.Networks[net]!.EndpointID;
      const bridge = nameFromId(BRIDGE_PREFIX, netId);
      const veth = nameFromId(HOST_VETH_PREFIX, epId);
      expect(await findLink(bridge)).toBeDefined();
      expect(await findLink(veth)).toBeDefined();
      expect(await mountCountOf(vol)).toBe(1);

      await suite!.kill9();
      const up = await suiteDown();
      await rt.ok(['rm', '-f', c]);
      await rt.ok(['network', 'rm', net]);
      await up();
      await suite!.restart();
      const healStart = Date.now();

      const agreed = await pollUntil(
        async () => !(await networkIds()).includes(netId) && (await poolOf(p.v4(0))) === undefined && (await mountCountOf(vol)) === 0,
        { timeoutMs: AGREE_MS, intervalMs: 500 },
      );
      expect(agreed, logTail()).toBe(true);
      console.log(`lost calls: agreement after restart took ${Date.now() - healStart} ms`);
      expect(await findLink(bridge)).toBeUndefined();
      expect(await findLink(veth)).toBeUndefined();
      await rt.ok(['volume', 'rm', vol]);
      expect(suite!.logs()).toMatch(/"msg":"released network"/);
      expect(suite!.logs()).toMatch(/"msg":"released volume mount"/);
      expect(suite!.logs()).toMatch(/"msg":"released pool"/);
    } finally {
      await rt.cli(['rm', '-f', c]);
      await rt.cli(['network', 'rm', net]);
      await rt.cli(['volume', 'rm', vol]);
    }
  });
});

describe.skipIf(!isRoot)('healing after dockerd started before the suite', () => {
  it('starts the --restart=always containers dockerd gave up on, with addresses, connectivity and volume data; a user-stopped one stays stopped', { timeout: 240_000 }, async () => {
    const p = await testPrefixes();
    const net = name('net');
    const vol = name('vol');
    const [a, b, stopped] = [name('a'), name('b'), name('s')];
    try {
      await rt.ok(['network', 'create', '-d', rt.drivers.network, '--ipam-driver', rt.drivers.ipam, '--subnet', p.v4(0), net]);
      await rt.ok(['volume', 'create', '-d', rt.drivers.volume, '-o', 'size=16m', vol]);
      await rt.ok(['run', '--rm', '-v', `${vol}:/data`, rt.image, 'sh', '-c', 'echo kept > /data/f']);
      await rt.ok(['run', '-d', '--restart', 'always', '--name', a, '--network', net, rt.image, 'sleep', '600']);
      await rt.ok(['run', '-d', '--restart', 'always', '--name', b, '--network', net, '-v', `${vol}:/data`, rt.image, 'sleep', '600']);
      await rt.ok(['run', '-d', '--restart', 'unless-stopped', '--name', stopped, '--network', net, rt.image, 'sleep', '600']);
      await rt.ok(['stop', '-t', '1', stopped]);

      // A reboot, dockerd first: dockerd stops (its containers with it) while the suite is down, the
      // kernel forgets the suite's links, tables and mounts, and dockerd starts again before the suite's
      // sockets and spec files are back, as when nothing orders the two.
      await suite!.kill9();
      const up = await suiteDown();
      await daemon!.halt();
      await up();
      await forgetInstanceKernelState(suite!.dir, suite!.stateDir);
      expect(await instanceBridges(suite!.stateDir)).toEqual([]);
      const specs = Object.values(suite!.driverNames).map((d) => join(DOCKER_SPEC_DIR, `${d}.spec`));
      await Promise.all(specs.map((f) => rm(f, { force: true })));
      const t0 = Date.now();
      await daemon!.start();
      const down = async (c: string) => (await inspect(c)).State.Running === false;
      expect(await down(a)).toBe(true);
      expect(await down(b)).toBe(true);
      console.log(`healing: dockerd restart with the suite down took ${Date.now() - t0} ms; errors: ${(await inspect(a)).State.Error} | ${(await inspect(b)).State.Error}`);
      for (const kind of suite!.served) await writeFile(join(DOCKER_SPEC_DIR, `${suite!.driverNames[kind]}.spec`), `unix://${suite!.sockets[kind]}\n`);
      await suite!.restart();
      const t1 = Date.now();

      const running = async () => (await inspect(a)).State.Running === true && (await inspect(b)).State.Running === true;
      expect(await pollUntil(running, { timeoutMs: 60_000, intervalMs: 500 }), logTail()).toBe(true);
      console.log(`healing: both containers running ${Date.now() - t1} ms after the suite started`);
      const ipOf = async (c: string) => (await inspect(c)).NetworkSettings.Networks[net]!.IPAddress;
      const [ipA, ipB] = [await ipOf(a), await ipOf(b)];
      expect(ipA).not.toBe('');
      expect(ipB).not.toBe('');
      expect((await rt.cli(['exec', a, 'ping', '-c', '1', '-W', '2', ipB])).code).toBe(0);
      expect((await rt.cli(['exec', b, 'ping', '-c', '1', '-W', '2', ipA])).code).toBe(0);
      expect((await rt.ok(['exec', b, 'cat', '/data/f'])).trim()).toBe('kept');
      expect((await inspect(stopped)).State.Running).toBe(false);
      expect(suite!.logs()).toMatch(/"msg":"healed container".*"container":"tstest-dsya-/);
      expect(suite!.logs()).not.toMatch(new RegExp(`"msg":"healed container","component":"docker-sync","container":"${stopped}"`));
      expect(suite!.logs()).toMatch(/"msg":"healing done".*"started":2/);
    } finally {
      await rt.cli(['rm', '-f', a, b, stopped]);
      await rt.cli(['network', 'rm', net]);
      await rt.cli(['volume', 'rm', vol]);
    }
  });
});

describe.skipIf(!isRoot)('kill -9 churn while containers start', () => {
  it('leaves unique, connected addresses and tsipam holding exactly the running containers plus the gateway, and nothing after removal', { timeout: 300_000 }, async () => {
    const ROUNDS = 40;
    const p = await testPrefixes();
    const net = name('net');
    const made: string[] = [];
    const started = Date.now();
    let failed = 0;
    try {
      await rt.ok(['network', 'create', '-d', rt.drivers.network, '--ipam-driver', rt.drivers.ipam, '--subnet', p.v4(0), net]);
      const netId = await networkId(net);
      for (let round = 0; round < ROUNDS; round++) {
        const c = name(`k${round}`);
        made.push(c);
        const run = rt.cli(['run', '-d', '--name', c, '--network', net, rt.image, 'sleep', '600']);
        await new Promise((r) => setTimeout(r, Math.random() * 1_000));
        await suite!.kill9();
        await suite!.restart();
        if ((await run).code !== 0) {
          failed++;
          await rt.cli(['rm', '-f', c]);
        }
      }
      const churnMs = Date.now() - started;
      const ps = async () => (await rt.ok(['ps', '-q', '--no-trunc', '--filter', `network=${net}`])).split('\n').filter((s) => s !== '');
      const used = async () => Number((await poolOf(p.v4(0)))?.Used);
      // Agreement releases what the failed runs left once it is older than the settle time.
      const agreed = await pollUntil(async () => (await used()) === (await ps()).length + 1, { timeoutMs: AGREE_MS, intervalMs: 1_000 });
      const ids = await ps();
      const released = (what: string) => suite!.logs().split('\n').filter((l) => l.includes(`"msg":"released ${what}"`)).length;
      console.log(
        `churn: ${ROUNDS} rounds, ${failed} failed runs, ${ids.length} running, Used ${await used()}, churn ${churnMs} ms, agreed ${Date.now() - started - churnMs} ms later; ` +
          `agreement released ${released('address')} addresses, ${released('endpoint')} endpoints`,
      );
      expect(agreed, logTail()).toBe(true);
      expect(ids.length).toBe(ROUNDS - failed);
      const ips = await Promise.all(ids.map(async (id) => (await inspect(id)).NetworkSettings.Networks[net]!.IPAddress));
      expect(new Set(ips).size).toBe(ips.length);
      const pingAll = async (from: string) =>
        (await rt.cli(['exec', from, 'sh', '-c', `for ip in ${ips.join(' ')}; do ping -c 1 -W 1 $ip >/dev/null || echo unreachable $ip; done`])).stdout.trim();
      expect(await pingAll(ids[0]!)).toBe('');
      expect(await pingAll(ids[ids.length - 1]!)).toBe('');
      const veths = (await admin<Status>(['status'])).Networks.find((n) => n.ID === netId)!.Endpoints.map((e) => nameFromId(HOST_VETH_PREFIX, e.ID));

      await rt.ok(['rm', '-f', ...ids]);
      await rt.ok(['network', 'rm', net]);
      expect(await networkIds()).not.toContain(netId);
      expect(await poolOf(p.v4(0))).toBeUndefined();
      expect(await findLink(nameFromId(BRIDGE_PREFIX, netId))).toBeUndefined();
      for (const v of veths) expect(await findLink(v)).toBeUndefined();
    } finally {
      if (made.length > 0) await rt.cli(['rm', '-f', ...made]);
      await rt.cli(['network', 'rm', net]);
    }
  });
});

describe.skipIf(!isRoot)('agreement with engine-lite alone (--docker-host none)', () => {
  let own: SuiteHandle | undefined;
  let el: EngineLiteRuntime | undefined;
  afterAll(async () => {
    await el?.cleanup();
    await own?.stop();
  });

  it("keeps what engine-lite's records know and releases what they do not", { timeout: 180_000 }, async () => {
    const elDir = `/tmp/tstest-el-${randomBytes(4).toString('hex')}`;
    own = await startSuite({ sync: { engineLiteState: elDir } });
    el = await engineLiteRuntime(own, { stateDir: elDir });
    const p = await testPrefixes();
    const [net, used, idle, c] = [name('net'), name('vol'), name('vol'), name('c')];
    await el.ok(['network', 'create', '-d', el.drivers.network, '--ipam-driver', el.drivers.ipam, '--subnet', p.v4(0), net]);
    await el.ok(['volume', 'create', '-d', el.drivers.volume, used]);
    await el.ok(['volume', 'create', '-d', el.drivers.volume, idle]);
    await el.ok(['run', '-d', '--name', c, '--network', net, '-v', `${used}:/data`, el.image, 'sleep', '600']);
    // What no engine-lite record names: a pool and its address, and a mount of an idle volume.
    const { PoolID } = (await pluginCall(own.sockets.ipam, 'IpamDriver.RequestPool', { AddressSpace: 'LocalDefault', Pool: p.v4(1) })).json as { PoolID: string };
    await pluginCall(own.sockets.ipam, 'IpamDriver.RequestAddress', { PoolID, Address: p.ip4(1, 5) });
    await pluginCall(own.sockets.volume, 'VolumeDriver.Mount', { Name: idle, ID: randomBytes(32).toString('hex') });
    expect(await mountCountOf(idle, own)).toBe(1);

    // Without dockerd, passes run when serve starts (and once more after the settle time).
    await own.restart();
    const released = await pollUntil(async () => (await poolOf(p.v4(1), own)) === undefined && (await mountCountOf(idle, own)) === 0, {
      timeoutMs: AGREE_MS,
      intervalMs: 500,
    });
    expect(released, own.logs().split('\n').filter((l) => !l.includes('"msg":"request"')).join('\n').slice(-4000)).toBe(true);
    expect(own.logs()).toMatch(/"msg":"agreement pass done".*"reference":"engine-lite"/);
    expect((await networkIds(own)).length).toBe(1);
    expect((await admin<Status>(['status'], own)).Networks[0]!.Endpoints.length).toBe(1);
    expect((await poolOf(p.v4(0), own))?.Used).toBe('2');
    expect(await mountCountOf(used, own)).toBe(1);
    expect((await el.cli(['exec', c, 'ping', '-c', '1', '-W', '2', p.ip4(0, 1)])).code).toBe(0);
  });
});
