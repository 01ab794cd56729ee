/**
 * engine-lite as dockerd's stand-in, seen from the plugins' side: recording fake plugins (served by the
 * suite's own protocol server, so every request is also validated against the API schemas) check the
 * order and the shapes of the calls, and are told to fail or hang to check that bad input and broken
 * plugins leave nothing behind: no netns, cgroup, veth, plugin-side endpoint or address.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { listCgroups } from '../common/kernel/cgroup.js';
import { deleteLink, ensureVethPair, findLink, listLinks } from '../common/kernel/links.js';
import { listNetns } from '../common/kernel/netns.js';
import { createLogger } from '../common/log.js';
import { bindIpamDriver, type IpamDriverApi } from '../common/protocol/ipam-api.js';
import { bindNetworkDriver, type NetworkDriverApi } from '../common/protocol/network-api.js';
import type { BoundInterface } from '../common/protocol/api.js';
import { PluginServer } from '../common/protocol/server.js';
import { bindVolumeDriver, type VolumeDriverApi } from '../common/protocol/volume-api.js';
import { engineLiteRuntime, type EngineLiteRuntime } from '../testing/docker/engine-lite-runtime.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('engine-lite plugin tests skipped: they need root (namespaces, cgroups, veth)');

/** One call a fake plugin received. */
interface Call {
  method: string;
  body: Record<string, unknown>;
}

const SUBNET = '10.203.0';
const calls: Call[] = [];
/** Methods told to answer with an error, or never to answer. */
const misbehave = new Map<string, 'error' | 'hang'>();
const hanging: (() => void)[] = [];
/** Whether the endpoint's interface was back in this namespace when Leave came (it must not be). */
const srcInHostAtLeave: boolean[] = [];

/**
 * Records every request as it arrived on the wire (before the API schema normalises it, so `null`
 * stays `null`): the server validates each body with the method's schema, which this wraps.
 */
function recordingRaw(bound: BoundInterface): BoundInterface {
  for (const [method, m] of bound.methods) {
    const schema = new Proxy(m.schema, {
      get(target, prop, receiver) {
        if (prop !== 'safeParse') return Reflect.get(target, prop, receiver) as unknown;
        return (raw: unknown) => {
          calls.push({ method: `${bound.name}.${method}`, body: raw as Record<string, unknown> });
          return target.safeParse(raw);
        };
      },
    });
    bound.methods.set(method, { ...m, schema });
  }
  return bound;
}

/** Fails or hangs `method` when a test asked for it. */
async function record(method: string, _body: object): Promise<void> {
  const how = misbehave.get(method);
  if (how === 'error') throw new Error(`tstest: ${method} told to fail`);
  if (how === 'hang') {
    await new Promise<void>((r) => hanging.push(r));
    throw new Error(`tstest: ${method} released after the test`);
  }
}

const endpoints = new Map<string, { host: string; peer: string }>();
const volumes = new Set<string>();
let volumeRoot: string;

const network: NetworkDriverApi = {
  async getCapabilities() {
    await record('NetworkDriver.GetCapabilities', {});
    return { Scope: 'local', ConnectivityScope: 'local' };
  },
  async gwAllocCheck(r) {
    await record('NetworkDriver.GwAllocCheck', r);
    return { SkipIPv4: false, SkipIPv6: false };
  },
  async createNetwork(r) {
    await record('NetworkDriver.CreateNetwork', r);
    return {};
  },
  async deleteNetwork(r) {
    await record('NetworkDriver.DeleteNetwork', r);
    return {};
  },
  async allocateNetwork() {
    return { Options: {} };
  },
  async freeNetwork() {
    return {};
  },
  async createEndpoint(r) {
    await record('NetworkDriver.CreateEndpoint', r);
    const hex = randomBytes(3).toString('hex');
    const pair = { host: `tsfh${hex}`, peer: `tsfc${hex}` };
    await ensureVethPair(pair.host, pair.peer);
    endpoints.set(r.EndpointID, pair);
    // The driver may fill a field the daemon left empty: here, the MAC.
    return r.Interface.MacAddress === '' ? { Interface: { MacAddress: `02:fa:${hex.match(/../g)!.join(':')}:01` } } : {};
  },
  async deleteEndpoint(r) {
    await record('NetworkDriver.DeleteEndpoint', r);
    const pair = endpoints.get(r.EndpointID);
    if (pair) await deleteLink(pair.host);
    endpoints.delete(r.EndpointID);
    return {};
  },
  async endpointOperInfo() {
    return { Value: {} };
  },
  async join(r) {
    await record('NetworkDriver.Join', r);
    const pair = endpoints.get(r.EndpointID)!;
    return {
      InterfaceName: { SrcName: pair.peer, DstPrefix: 'eth' },
      Gateway: `${SUBNET}.1`,
      StaticRoutes: [{ Destination: '10.99.0.0/16', RouteType: 1 }],
    };
  },
  async leave(r) {
    await record('NetworkDriver.Leave', r);
    const pair = endpoints.get(r.EndpointID);
    srcInHostAtLeave.push(pair !== undefined && (await findLink(pair.peer)) !== undefined);
    return {};
  },
  async programExternalConnectivity(r) {
    await record('NetworkDriver.ProgramExternalConnectivity', r);
    return {};
  },
  async revokeExternalConnectivity(r) {
    await record('NetworkDriver.RevokeExternalConnectivity', r);
    return {};
  },
  async discoverNew() {
    return {};
  },
  async discoverDelete() {
    return {};
  },
};

let nextHost = 10;
const ipam: IpamDriverApi = {
  async getCapabilities() {
    await record('IpamDriver.GetCapabilities', {});
    return { RequiresMACAddress: false, RequiresRequestReplay: false };
  },
  async getDefaultAddressSpaces() {
    await record('IpamDriver.GetDefaultAddressSpaces', {});
    return { LocalDefaultAddressSpace: 'tstestLocal', GlobalDefaultAddressSpace: 'tstestGlobal' };
  },
  async requestPool(r) {
    await record('IpamDriver.RequestPool', r);
    const pool = r.Pool || `${SUBNET}.0/24`;
    return { PoolID: `tstest/${pool}`, Pool: pool, Data: {} };
  },
  async releasePool(r) {
    await record('IpamDriver.ReleasePool', r);
    return {};
  },
  async requestAddress(r) {
    await record('IpamDriver.RequestAddress', r);
    const gateway = r.Options.RequestAddressType === 'com.docker.network.gateway';
    const address = r.Address || (gateway ? `${SUBNET}.1` : `${SUBNET}.${nextHost++}`);
    return { Address: `${address}/24`, Data: {} };
  },
  async releaseAddress(r) {
    await record('IpamDriver.ReleaseAddress', r);
    return {};
  },
};

const volume: VolumeDriverApi = {
  async create(r) {
    await record('VolumeDriver.Create', r);
    volumes.add(r.Name);
    return {};
  },
  async remove(r) {
    await record('VolumeDriver.Remove', r);
    volumes.delete(r.Name);
    return {};
  },
  async mount(r) {
    await record('VolumeDriver.Mount', r);
    const dir = join(volumeRoot, r.Name);
    await mkdir(dir, { recursive: true });
    return { Mountpoint: dir };
  },
  async unmount(r) {
    await record('VolumeDriver.Unmount', r);
    return {};
  },
  async path(r) {
    return { Mountpoint: join(volumeRoot, r.Name) };
  },
  async get(r) {
    await record('VolumeDriver.Get', r);
    if (!volumes.has(r.Name)) throw new Error(`no such volume: ${r.Name}`);
    return { Volume: { Name: r.Name, Mountpoint: join(volumeRoot, r.Name) } };
  },
  async list() {
    return { Volumes: [...volumes].map((Name) => ({ Name, Mountpoint: join(volumeRoot, Name) })) };
  },
  async capabilities() {
    return { Capabilities: { Scope: 'local' } };
  },
};

let dir: string;
let servers: PluginServer[] = [];
let el: EngineLiteRuntime;

beforeAll(async () => {
  if (!isRoot) return;
  dir = `/tmp/tstest-elp-${randomBytes(4).toString('hex')}`;
  volumeRoot = join(dir, 'volumes');
  // The fakes' refusals are the point of some tests: keep their log out of the test output.
  const log = createLogger({ stream: new Writable({ write: (_chunk, _enc, done) => done() }) });
  const serve = (file: string, iface: BoundInterface) => PluginServer.listen({ socketPath: join(dir, 'plugins', file), interfaces: [recordingRaw(iface)], log });
  servers = [await serve('tsnet.sock', bindNetworkDriver(network)), await serve('tsipam.sock', bindIpamDriver(ipam)), await serve('tsvol.sock', bindVolumeDriver(volume))];
  el = await engineLiteRuntime({ pluginsDir: join(dir, 'plugins') }, { pluginTimeoutS: 2 });
});

/** What a test made, removed after it even when it fails: containers first, then networks. */
const made = { containers: [] as string[], networks: [] as string[] };

afterEach(async () => {
  misbehave.clear();
  for (const release of hanging.splice(0)) release();
  for (const c of made.containers.splice(0)) await el.cli(['rm', '-f', '-v', c]);
  for (const n of made.networks.splice(0)) await el.cli(['network', 'rm', n]);
});

/** `run -d …`, resolving with the container ID, which is removed after the test. */
async function runDetached(args: string[]): Promise<string> {
  const id = (await el.ok(['run', '-d', ...args])).trim();
  made.containers.push(id);
  return id;
}

afterAll(async () => {
  for (const release of hanging.splice(0)) release();
  await el?.cleanup();
  for (const s of servers) await s.close();
  for (const pair of endpoints.values()) await deleteLink(pair.host);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The methods called since `from`, without the activation handshake (repeated by every command). */
function methodsSince(from: number): string[] {
  return calls.slice(from).map((c) => c.method).filter((m) => !m.endsWith('.GetCapabilities'));
}

const bodyOf = (from: number, method: string, nth = 0) => calls.slice(from).filter((c) => c.method === method)[nth]?.body;

/** What engine-lite must not leave once no container runs: named netns, cgroups, our veths. */
async function leftovers(): Promise<string[]> {
  return [
    ...(await listNetns('tsel-')).map((n) => `netns ${n}`),
    ...(await listCgroups('tsel-')).map((n) => `cgroup ${n}`),
    ...(await listLinks('tsf')).map((l) => `link ${l.name}`),
  ];
}

/** A network on the fake driver with a /24 in the test range. */
async function makeNetwork(extra: string[] = []): Promise<string> {
  const name = `tstest-n${randomBytes(3).toString('hex')}`;
  await el.ok(['network', 'create', '--subnet', `${SUBNET}.0/24`, ...extra, name]);
  made.networks.push(name);
  return name;
}

describe.skipIf(!isRoot)('engine-lite plugin calls', () => {
  it('creates a network in libnetwork order: IPAM spaces, pool, gateway, aux, then CreateNetwork with the IPAM data', async () => {
    const from = calls.length;
    const name = `tstest-n${randomBytes(3).toString('hex')}`;
    const id = (
      await el.ok(['network', 'create', '--subnet', `${SUBNET}.0/24`, '--ip-range', `${SUBNET}.128/25`, '--gateway', `${SUBNET}.1`, '--aux-address', `r=${SUBNET}.2`, '-o', 'colour=blue', name])
    ).trim();
    expect(methodsSince(from)).toEqual([
      'IpamDriver.GetDefaultAddressSpaces',
      'IpamDriver.GetDefaultAddressSpaces',
      'IpamDriver.RequestPool',
      'IpamDriver.RequestAddress',
      'IpamDriver.RequestAddress',
      'NetworkDriver.CreateNetwork',
    ]);
    expect(bodyOf(from, 'IpamDriver.RequestPool')).toEqual({ AddressSpace: 'tstestLocal', Pool: `${SUBNET}.0/24`, SubPool: `${SUBNET}.128/25`, Options: {}, V6: false });
    expect(bodyOf(from, 'IpamDriver.RequestAddress', 0)).toEqual({ PoolID: `tstest/${SUBNET}.0/24`, Address: `${SUBNET}.1`, Options: { RequestAddressType: 'com.docker.network.gateway' } });
    expect(bodyOf(from, 'IpamDriver.RequestAddress', 1)).toEqual({ PoolID: `tstest/${SUBNET}.0/24`, Address: `${SUBNET}.2`, Options: null });
    expect(bodyOf(from, 'NetworkDriver.CreateNetwork')).toEqual({
      NetworkID: id,
      Options: { 'com.docker.network.enable_ipv4': true, 'com.docker.network.enable_ipv6': false, 'com.docker.network.generic': { colour: 'blue' } },
      IPv4Data: [{ AddressSpace: 'tstestLocal', Pool: `${SUBNET}.0/24`, Gateway: `${SUBNET}.1/24`, AuxAddresses: { r: `${SUBNET}.2/24` } }],
      IPv6Data: [],
    });
    const rmFrom = calls.length;
    await el.ok(['network', 'rm', name]);
    expect(methodsSince(rmFrom)).toEqual(['NetworkDriver.DeleteNetwork', 'IpamDriver.ReleaseAddress', 'IpamDriver.ReleaseAddress', 'IpamDriver.ReleasePool']);
  });

  it('sets up an endpoint like dockerd and tears it down in reverse, the interface still inside at Leave', async () => {
    const net = await makeNetwork();
    const from = calls.length;
    const out = await el.ok(['run', '--rm', '--network', net, '--ip', `${SUBNET}.150`, '-p', '8080:80', el.image, 'sh', '-c', 'ip -o -4 addr show eth0; ip route; cat /sys/class/net/eth0/address']);
    expect(methodsSince(from)).toEqual([
      'IpamDriver.RequestAddress',
      'NetworkDriver.CreateEndpoint',
      'NetworkDriver.Join',
      'NetworkDriver.ProgramExternalConnectivity',
      'NetworkDriver.RevokeExternalConnectivity',
      'NetworkDriver.Leave',
      'NetworkDriver.DeleteEndpoint',
      'IpamDriver.ReleaseAddress',
    ]);
    expect(srcInHostAtLeave.at(-1)).toBe(false);
    expect(out).toContain(`inet ${SUBNET}.150/24`);
    expect(out).toContain(`default via ${SUBNET}.1 dev eth0`);
    expect(out).toMatch(/10\.99\.0\.0\/16 dev eth0/);
    const created = bodyOf(from, 'NetworkDriver.CreateEndpoint')!;
    expect(created.Interface).toEqual({ Address: `${SUBNET}.150/24`, AddressIPv6: '', MacAddress: '' });
    expect(created.Options).toMatchObject({
      'com.docker.network.portmap': [{ Proto: 6, IP: '', Port: 80, HostIP: '', HostPort: 8080, HostPortEnd: 8080 }],
      'com.docker.network.endpoint.exposedports': [{ Proto: 6, Port: 80 }],
    });
    expect(out).toMatch(/^02:fa:/m); // the MAC the driver chose
    expect(bodyOf(from, 'NetworkDriver.Join')).toMatchObject({ SandboxKey: expect.stringMatching(/^\/run\/netns\/tsel-[0-9a-f]{12}$/) });
    expect(bodyOf(from, 'IpamDriver.ReleaseAddress')).toEqual({ PoolID: `tstest/${SUBNET}.0/24`, Address: `${SUBNET}.150` });
    expect(await leftovers()).toEqual([]);
  });

  it('connects and disconnects a running container, keeping the first network as the gateway', async () => {
    const [n1, n2] = [await makeNetwork(), await makeNetwork()];
    const c = await runDetached(['--network', n1, el.image, 'sleep', '60']);
    const from = calls.length;
    await el.ok(['network', 'connect', n2, c]);
    expect(methodsSince(from)).toEqual(['IpamDriver.RequestAddress', 'NetworkDriver.CreateEndpoint', 'NetworkDriver.Join']);
    expect((await el.ok(['exec', c, 'ls', '/sys/class/net'])).split(/\s+/).filter(Boolean).sort()).toEqual(['eth0', 'eth1', 'lo']);
    expect((await el.ok(['exec', c, 'ip', 'route', 'show', 'default'])).trim()).toMatch(/dev eth0/);
    const disc = calls.length;
    await el.ok(['network', 'disconnect', n2, c]);
    expect(methodsSince(disc)).toEqual(['NetworkDriver.Leave', 'NetworkDriver.DeleteEndpoint', 'IpamDriver.ReleaseAddress']);
    expect(await el.ok(['exec', c, 'cat', '/sys/class/net/eth1/address']).catch((e: Error) => e.message)).toContain('No such file');
    await el.ok(['rm', '-f', c]);
    expect(await leftovers()).toEqual([]);
  });

  it('attaches several networks at start, in order, with the MAC asked for on the first', async () => {
    const [n1, n2] = [await makeNetwork(), await makeNetwork(['--internal'])];
    const from = calls.length;
    const out = await el.ok(['run', '--rm', '--network', n1, '--network', n2, '--mac-address', '02:42:0a:14:00:05', el.image, 'sh', '-c', 'ls /sys/class/net; cat /sys/class/net/eth0/address']);
    expect(out.split(/\s+/).filter(Boolean)).toEqual(['eth0', 'eth1', 'lo', '02:42:0a:14:00:05']);
    const creates = calls.slice(from).filter((c) => c.method === 'NetworkDriver.CreateEndpoint').map((c) => c.body);
    expect(creates[0]).toMatchObject({ Interface: { MacAddress: '02:42:0a:14:00:05' }, Options: { 'com.docker.network.endpoint.macaddress': 'AkIKFAAF' } });
    expect(creates[1]!.Options).toEqual({}); // internal: no port options
    expect(methodsSince(from).filter((m) => m === 'NetworkDriver.ProgramExternalConnectivity')).toHaveLength(1);
    expect(await leftovers()).toEqual([]);
  });

  it('undoes everything when Join fails (no Leave for a refused Join, as dockerd), and reports the plugin error (exit 125)', async () => {
    const net = await makeNetwork();
    misbehave.set('NetworkDriver.Join', 'error');
    const from = calls.length;
    const r = await el.cli(['run', '--rm', '--network', net, el.image, 'true']);
    expect(r.code).toBe(125);
    expect(r.stderr).toContain('NetworkDriver.Join: tstest: NetworkDriver.Join told to fail');
    expect(methodsSince(from)).toEqual([
      'IpamDriver.RequestAddress',
      'NetworkDriver.CreateEndpoint',
      'NetworkDriver.Join',
      'NetworkDriver.DeleteEndpoint',
      'IpamDriver.ReleaseAddress',
    ]);
    expect(await leftovers()).toEqual([]);
    expect((await el.ok(['ps', '-aq'])).trim()).toBe('');
    await el.ok(['network', 'rm', net]);
  });

  it('gives up on a plugin that never answers, within --plugin-timeout, leaving nothing', async () => {
    const net = await makeNetwork();
    misbehave.set('NetworkDriver.CreateEndpoint', 'hang');
    const started = Date.now();
    const r = await el.cli(['run', '--rm', '--network', net, el.image, 'true']);
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/CreateEndpoint: no answer from .* within 2000 ms/);
    expect(Date.now() - started).toBeLessThan(15_000);
    misbehave.clear();
    expect(calls.at(-2)?.method).toBe('NetworkDriver.DeleteEndpoint');
    expect(await leftovers()).toEqual([]);
  });

  it('releases the IPAM allocations when CreateNetwork fails, and keeps no network', async () => {
    misbehave.set('NetworkDriver.CreateNetwork', 'error');
    const from = calls.length;
    const r = await el.cli(['network', 'create', '--subnet', `${SUBNET}.0/24`, 'tstest-broken']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('CreateNetwork told to fail');
    expect(methodsSince(from).slice(-3)).toEqual(['NetworkDriver.CreateNetwork', 'IpamDriver.ReleaseAddress', 'IpamDriver.ReleasePool']);
    expect(await el.ok(['network', 'ls', '--format', '{{.Name}}'])).not.toContain('tstest-broken');
  });

  it('creates volumes with Get then Create, and mounts them with a fresh 64-hex ID per start', async () => {
    const from = calls.length;
    await el.ok(['volume', 'create', '-o', 'size=1m', 'tstest-v1']);
    expect(methodsSince(from)).toEqual(['VolumeDriver.Get', 'VolumeDriver.Create']);
    expect(bodyOf(from, 'VolumeDriver.Create')).toEqual({ Name: 'tstest-v1', Opts: { size: '1m' } });
    const runFrom = calls.length;
    const id = await runDetached(['-v', 'tstest-v1:/data', '-v', 'tstest-v2:/more:ro', el.image, 'sh', '-c', 'echo hi > /data/f; sleep 60']);
    expect(bodyOf(runFrom, 'VolumeDriver.Create')).toEqual({ Name: 'tstest-v2', Opts: null });
    const mounts = calls.slice(runFrom).filter((c) => c.method === 'VolumeDriver.Mount').map((c) => c.body);
    expect(mounts.map((m) => m.Name)).toEqual(['tstest-v1', 'tstest-v2']);
    for (const m of mounts) expect(m.ID).toMatch(/^[0-9a-f]{64}$/);
    expect(mounts[0]!.ID).not.toBe(id);
    await el.ok(['stop', '-t', '0', id]);
    const unmounts = calls.slice(runFrom).filter((c) => c.method === 'VolumeDriver.Unmount').map((c) => c.body);
    expect(unmounts).toEqual(expect.arrayContaining(mounts));
    expect((await el.cli(['volume', 'rm', 'tstest-v1'])).stderr).toContain('volume is in use');
    await el.ok(['rm', id]);
    await el.ok(['volume', 'rm', 'tstest-v1', 'tstest-v2']);
  });

  it('refuses an unknown volume driver or an invalid -v before any plugin call, creating nothing', async () => {
    const from = calls.length;
    const unknown = await el.cli(['run', '--rm', '--volume-driver', 'tstest-nosuch', '-v', 'tstest-v3:/x', el.image, 'true']);
    expect(unknown.code).toBe(125);
    expect(unknown.stderr).toContain('plugin "tstest-nosuch" not found');
    const invalid = await el.cli(['run', '--rm', '-v', 'tstest-v3:relative', el.image, 'true']);
    expect(invalid.code).toBe(125);
    expect(invalid.stderr).toContain('mount path must be absolute');
    expect(methodsSince(from)).toEqual([]);
    expect((await el.ok(['ps', '-aq'])).trim()).toBe('');
    expect(await leftovers()).toEqual([]);
  });

  it('releases a running container’s endpoint on rm -f, and after kill -9 of its supervisor on the next command', async () => {
    const net = await makeNetwork();
    const a = await runDetached(['--network', net, el.image, 'sleep', '60']);
    const b = await runDetached(['--rm', '--network', net, el.image, 'sleep', '60']);
    const from = calls.length;
    await el.ok(['rm', '-f', a]);
    expect(methodsSince(from)).toEqual(expect.arrayContaining(['NetworkDriver.Leave', 'NetworkDriver.DeleteEndpoint', 'IpamDriver.ReleaseAddress']));
    process.kill(await findSupervisor(b), 'SIGKILL');
    await sleep(100);
    const next = calls.length;
    expect((await el.ok(['ps', '-aq'])).trim()).toBe(''); // reconciled: b had --rm
    expect(methodsSince(next)).toEqual(expect.arrayContaining(['NetworkDriver.Leave', 'NetworkDriver.DeleteEndpoint', 'IpamDriver.ReleaseAddress']));
    expect(await leftovers()).toEqual([]);
  });
});

/** Pid of the supervisor of container `id` (its command line names the container). */
async function findSupervisor(id: string): Promise<number> {
  const { readdir, readFile } = await import('node:fs/promises');
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmd = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes('__supervise') && cmd.includes(id)) return Number(entry);
  }
  throw new Error(`no supervisor for ${id}`);
}
