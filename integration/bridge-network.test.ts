/**
 * tsnet `mode=bridge` end to end, on real dockerd and on engine-lite: reachability within and across
 * networks, ICC, internal networks against a "world" namespace behind the host, published ports, bad
 * input, and that removing everything leaves nothing of ours. Each test guards its own prefixes with
 * unreachable routes (testPrefixes), so no test packet can leave through the host's uplink. dockerd uses
 * its default IPAM; engine-lite has none of its own and uses tsipam.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { listLinks } from '../common/kernel/links.js';
import { listNftTables } from '../common/kernel/nftables.js';
import { callPlugin } from '../common/protocol/client.js';
import { bridgeMacFor } from '../network-driver/modes/bridge/bridge-mode.js';
import { instanceTag } from '../network-driver/modes/shared/instance.js';
import { freePort, makeWorld, peerEchoServer, readFrom, readLocal, testPrefixes, type TestPrefixes } from '../network-driver/modes/testing/fixture-world.js';
import { engineLiteRuntime, type EngineLiteRuntime } from '../testing/docker/engine-lite-runtime.js';
import { startSuite, type SuiteHandle } from '../testing/docker/plugin-harness.js';
import { dockerRuntime, type Runtime } from '../testing/docker/runtime.js';
import { tryRun } from '../testing/system.js';
import { skipUnlessIpv6 } from '../testing/kernel/ipv6.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('bridge integration tests skipped: they need root (namespaces, links, dockerd)');

let suite: SuiteHandle | undefined;
let engineLite: EngineLiteRuntime | undefined;
let tag = '';

beforeAll(async () => {
  if (!isRoot) return;
  suite = await startSuite({ only: ['network', 'ipam'] });
  engineLite = await engineLiteRuntime(suite);
  tag = instanceTag(`${suite.stateDir}/network`);
});

afterAll(async () => {
  await engineLite?.cleanup();
  await suite?.stop();
});

/** The host uplink's MTU (device of the default route), which containers must get when no MTU is given. */
async function uplinkMtu(): Promise<number> {
  const [route] = JSON.parse((await tryRun(['ip', '-j', 'route', 'show', 'default'])).stdout || '[]') as { dev?: string }[];
  return route?.dev ? Number(await readFile(`/sys/class/net/${route.dev}/mtu`, 'utf8')) : 1500;
}

describe.skipIf(!isRoot).each(['docker', 'engine-lite'] as const)('tsnet bridge on %s', (kind) => {
  let rt: Runtime;
  const containers: string[] = [];
  const networks: string[] = [];
  const hostVeths: string[] = [];
  const name = (what: string) => `tstest-br${what}-${randomBytes(3).toString('hex')}`;

  beforeAll(() => {
    rt = kind === 'docker' ? dockerRuntime(suite!, inject('testImage')) : engineLite!;
  });

  afterAll(async () => {
    for (const c of containers) await rt?.cli(['rm', '-f', c]);
    for (const n of networks) await rt?.cli(['network', 'rm', n]);
  });

  /** `network create -d tsnet` with our subnets; IPv6 when `v6` is given. */
  async function network(p: TestPrefixes, i: number, opts: { v6?: boolean; internal?: boolean; o?: string[] } = {}): Promise<string> {
    const n = name('net');
    const args = ['network', 'create', '-d', rt.drivers.network, ...(kind === 'engine-lite' ? ['--ipam-driver', rt.drivers.ipam] : [])];
    args.push('--subnet', p.v4(i), ...(opts.v6 ? ['--ipv6', '--subnet', p.v6(i)] : []), ...(opts.internal ? ['--internal'] : []));
    for (const o of opts.o ?? []) args.push('-o', o);
    await rt.ok([...args, n]);
    networks.push(n);
    return n;
  }

  /** A detached container on `net` running `cmd` (default: sleep); resolves with its name. */
  async function container(net: string, opts: { args?: string[]; cmd?: string[] } = {}): Promise<string> {
    const c = name('c');
    containers.push(c);
    await rt.ok(['run', '-d', '--name', c, '--network', net, ...(opts.args ?? []), rt.image, ...(opts.cmd ?? ['sleep', '600'])]);
    const info = await endpointInfo(c, net);
    hostVeths.push(String(info['hostInterface']));
    return c;
  }

  /** EndpointOperInfo of `c`'s endpoint on `net`, asked of the plugin directly. */
  async function endpointInfo(c: string, net: string): Promise<Record<string, unknown>> {
    const [inspect] = JSON.parse(await rt.ok(['inspect', c])) as Array<{ NetworkSettings: { Networks: Record<string, { NetworkID: string; EndpointID: string }> } }>;
    const ep = inspect!.NetworkSettings.Networks[net]!;
    const reply = await callPlugin<{ Value: Record<string, unknown> }>(suite!.sockets.network, 'NetworkDriver.EndpointOperInfo', { NetworkID: ep.NetworkID, EndpointID: ep.EndpointID });
    return reply.Value;
  }

  /**
   * A detached container with a static MAC and addresses. docker's CLI (28) sends `--mac-address` per
   * network, which dockerd 20.10 (API 1.41) refuses, so for docker the container is made through the API.
   */
  async function macContainer(net: string, mac: string, ip4: string, ip6: string): Promise<string> {
    if (kind === 'engine-lite') return container(net, { args: ['--ip', ip4, '--ip6', ip6, '--mac-address', mac] });
    const c = name('c');
    containers.push(c);
    const body = {
      Image: rt.image,
      Cmd: ['sleep', '600'],
      MacAddress: mac,
      HostConfig: { NetworkMode: net },
      NetworkingConfig: { EndpointsConfig: { [net]: { IPAMConfig: { IPv4Address: ip4, IPv6Address: ip6 } } } },
    };
    const url = `http://localhost/v1.41/containers/create?name=${c}`;
    const made = await tryRun(['curl', '-sf', '--unix-socket', '/var/run/docker.sock', '-H', 'Content-Type: application/json', '-X', 'POST', url, '-d', JSON.stringify(body)]);
    if (made.code !== 0) throw new Error(`container create through the API failed: ${made.stdout}${made.stderr}`);
    await rt.ok(['start', c]);
    return c;
  }

  const exec = (c: string, cmd: string[]) => rt.cli(['exec', c, ...cmd]);
  const pings = async (c: string, to: string) => (await exec(c, [to.includes(':') ? 'ping6' : 'ping', '-c', '1', '-W', '1', to])).code === 0;
  const read = async (c: string, to: string, port: number) => {
    const r = await exec(c, ['nc', '-w', '2', to, String(port)]);
    return r.code === 0 ? r.stdout.trim() : '';
  };
  const ourBridges = async () => (await listLinks('')).filter((l) => l.kind === 'bridge' && l.mac === bridgeMacFor(tag)).map((l) => l.name);
  const bridgePorts = async (bridge: string) => (await listLinks('')).filter((l) => l.master === bridge).map((l) => l.name);
  const bridgeOf = async (net: string) => {
    const [info] = JSON.parse(await rt.ok(['network', 'inspect', net])) as Array<{ Id: string; Options: Record<string, string> }>;
    return info!.Options['com.docker.network.bridge.name'] ?? info!.Options['bridge_name'] ?? `tsbr-${info!.Id.slice(0, 10)}`;
  };

  it('connects two containers of one network over IPv4 and IPv6, at the uplink MTU, with static and derived addresses', async (ctx) => {
    await skipUnlessIpv6(ctx);
    const p = await testPrefixes();
    const n = await network(p, 0, { v6: true });
    const a = await container(n, { args: ['--ip', p.ip4(0, 10), '--ip6', p.ip6(0, 10)] });
    const b = await macContainer(n, '02:00:00:00:be:ef', p.ip4(0, 11), p.ip6(0, 11));
    expect(await pings(a, p.ip4(0, 11))).toBe(true);
    expect(await pings(a, p.ip6(0, 11))).toBe(true);
    expect(await pings(b, p.ip4(0, 10))).toBe(true);
    const mtu = await uplinkMtu();
    expect((await exec(a, ['cat', '/sys/class/net/eth0/mtu'])).stdout.trim()).toBe(String(mtu));
    expect((await exec(b, ['cat', '/sys/class/net/eth0/address'])).stdout.trim()).toBe('02:00:00:00:be:ef');
    // dockerd sends no MAC unless asked, so the plugin derives one from the IP (engine-lite makes its own).
    if (kind === 'docker') expect((await exec(a, ['cat', '/sys/class/net/eth0/address'])).stdout.trim()).toMatch(/^02:42:0a:/);
    const info = await endpointInfo(a, n);
    expect(info).toMatchObject({ mode: 'bridge', mtu, ports: [] });
    expect((await listLinks(String(info['hostInterface'])))[0]).toMatchObject({ mtu, master: await bridgeOf(n) });
  });

  it('keeps two tsnet networks apart', async () => {
    const p = await testPrefixes();
    const a = await container(await network(p, 0), { args: ['--ip', p.ip4(0, 10)] });
    const b = await container(await network(p, 1), { args: ['--ip', p.ip4(1, 10)] });
    expect(await pings(a, p.ip4(0, 1))).toBe(true);
    expect(await pings(a, p.ip4(1, 10))).toBe(false);
    expect(await pings(b, p.ip4(0, 10))).toBe(false);
  });

  it('blocks traffic between containers of one network with ICC off', async () => {
    const p = await testPrefixes();
    const n = await network(p, 0, { o: ['com.docker.network.bridge.enable_icc=false'] });
    const a = await container(n, { args: ['--ip', p.ip4(0, 10)] });
    await container(n, { args: ['--ip', p.ip4(0, 11)] });
    expect(await pings(a, p.ip4(0, 1))).toBe(true);
    expect(await pings(a, p.ip4(0, 11))).toBe(false);
  });

  it('lets a normal network reach a world behind the host, masqueraded, and an internal one not at all', async () => {
    const p = await testPrefixes();
    const world = await makeWorld(p.world);
    await peerEchoServer(world.ns, 9000);
    const out = await container(await network(p, 0));
    const shut = await container(await network(p, 1, { internal: true }));
    // The world has no route to the container subnets: an answer proves masquerade, and names the host's side.
    expect(await read(out, world.address, 9000)).toBe(world.hostSide);
    expect(await read(shut, world.address, 9000)).toBe('');
    expect((await exec(shut, ['ip', 'route'])).stdout).not.toContain('default');
  });

  it('publishes a port to the host’s 127.0.0.1, to another namespace, and back to the container itself', async () => {
    const p = await testPrefixes();
    const world = await makeWorld(p.world);
    const [port, local] = [await freePort(), await freePort()];
    const n = await network(p, 0);
    const web = await container(n, { args: ['-p', `${port}:80`, '-p', `127.0.0.1:${local}:80`], cmd: ['nc', '-ll', '-p', '80', '-e', 'echo', 'hello'] });
    expect(await readLocal('127.0.0.1', port)).toBe('hello');
    expect(await readLocal('127.0.0.1', local)).toBe('hello');
    expect(await readFrom(world.ns, world.hostSide, port)).toBe('hello');
    expect(await readFrom(world.ns, world.hostSide, local)).toBe('');
    expect(await read(web, p.ip4(0, 1), port)).toBe('hello');
    expect((await endpointInfo(web, n))['ports']).toEqual(expect.arrayContaining([`0.0.0.0:${port}->80/tcp`, `127.0.0.1:${local}->80/tcp`]));
  });

  it('refuses bad input with a clear message and makes nothing', async () => {
    const p = await testPrefixes();
    const bridge = `tstb${randomBytes(3).toString('hex')}`;
    const a = await network(p, 0, { o: [`com.docker.network.bridge.name=${bridge}`] });
    const before = await ourBridges();
    const create = (o: string[], extra: string[] = []) => {
      const args = ['network', 'create', '-d', rt.drivers.network, ...(kind === 'engine-lite' ? ['--ipam-driver', rt.drivers.ipam] : [])];
      return rt.cli([...args, '--subnet', p.v4(1), ...extra, ...o.flatMap((x) => ['-o', x]), name('bad')]);
    };
    expect((await create([`bridge_name=${bridge}`])).stderr).toContain(`bridge name "${bridge}" is already used by network`);
    expect((await create(['mtu=70000'])).stderr).toContain('option "mtu" must be a whole number from 68 to 65535, got "70000"');
    expect((await create(['colour=blue'])).stderr).toMatch(/unknown option "colour" for mode bridge; valid options: com\.docker\.network\.bridge\.name/);
    expect(await ourBridges()).toEqual(before);

    const internal = await network(p, 2, { internal: true });
    const c = name('c');
    containers.push(c);
    const refused = await rt.cli(['run', '-d', '--name', c, '--network', internal, '-p', '8080:80', rt.image, 'sleep', '600']);
    expect(refused.stderr).toMatch(/is internal .*ports cannot be published/);
    expect(await bridgePorts(await bridgeOf(internal))).toEqual([]);

    const port = await freePort();
    await container(a, { args: ['-p', `${port}:80`] });
    const other = await network(p, 1);
    const c2 = name('c');
    containers.push(c2);
    const taken = await rt.cli(['run', '-d', '--name', c2, '--network', other, '-p', `${port}:80`, rt.image, 'sleep', '600']);
    expect(taken.stderr).toContain(`host port 0.0.0.0:${port}/tcp is already published by network`);
    expect(await bridgePorts(await bridgeOf(other))).toEqual([]);
  });

  it('leaves nothing of ours on the host once containers and networks are removed', async () => {
    for (const c of containers.splice(0)) await rt.cli(['rm', '-f', c]);
    for (const n of networks.splice(0)) await rt.ok(['network', 'rm', n]);
    expect(await ourBridges()).toEqual([]);
    const names = new Set((await listLinks('ts')).map((l) => l.name));
    expect(hostVeths.filter((v) => names.has(v))).toEqual([]);
    expect((await listNftTables()).map((t) => t.name)).not.toContain(`tsnet-${tag}`);
    expect((await tryRun(['iptables', '-S'])).stdout).not.toContain(`TSNET-BR-${tag}`);
    expect((await tryRun(['ip6tables', '-S'])).stdout).not.toContain(`TSNET-BR-${tag}`);
  });
});

describe.skipIf(!isRoot)('tsnet bridge next to Docker’s own bridge driver (docker only: engine-lite has no built-in bridge)', () => {
  const made: string[][] = [];
  afterAll(async () => {
    for (const argv of made.reverse()) await tryRun(['docker', ...argv]);
  });

  it('keeps a tsnet network and a Docker bridge network apart, both ways', async () => {
    const rt = dockerRuntime(suite!, inject('testImage'));
    const p = await testPrefixes();
    const hex = randomBytes(3).toString('hex');
    const [ours, theirs] = [`tstest-brts-${hex}`, `tstest-brdk-${hex}`];
    await rt.ok(['network', 'create', '-d', rt.drivers.network, '--subnet', p.v4(0), ours]);
    made.push(['network', 'rm', ours]);
    await rt.ok(['network', 'create', '-d', 'bridge', '--subnet', p.v4(1), theirs]);
    made.push(['network', 'rm', theirs]);
    const run = async (net: string, ip: string) => {
      const c = `tstest-brc-${randomBytes(3).toString('hex')}`;
      made.push(['rm', '-f', c]);
      await rt.ok(['run', '-d', '--name', c, '--network', net, '--ip', ip, rt.image, 'sleep', '600']);
      return c;
    };
    const a = await run(ours, p.ip4(0, 10));
    const b = await run(theirs, p.ip4(1, 10));
    const ping = async (c: string, to: string) => (await rt.cli(['exec', c, 'ping', '-c', '1', '-W', '1', to])).code === 0;
    expect(await ping(a, p.ip4(0, 1))).toBe(true);
    expect(await ping(b, p.ip4(1, 1))).toBe(true);
    expect(await ping(a, p.ip4(1, 10))).toBe(false);
    expect(await ping(b, p.ip4(0, 10))).toBe(false);
  });
});
