/**
 * Protocol tests: the real plugin server on a unix socket in a fresh temp dir, counting fakes behind
 * it, requests sent the way dockerd sends them (no Content-Type, empty bodies). No kernel, no root.
 */
import { lstat, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BoundInterface } from './api.js';
import { postRaw, callPlugin, PluginCallError } from './client.js';
import { ConflictError, NotFoundError } from './errors.js';
import { bindIpamDriver, type IpamDriverApi } from './ipam-api.js';
import { bindNetworkDriver, type NetworkDriverApi } from './network-api.js';
import { PluginServer } from './server.js';
import { bindVolumeDriver, type VolumeDriverApi } from './volume-api.js';
import { createLogger } from '../log.js';
import { start as startProcess } from '../kernel/exec.js';

const NID = 'a'.repeat(64);
const EID = 'b'.repeat(64);

type Calls = Array<{ method: string; req: unknown }>;

/** Wraps a handler table so that every call is recorded before it runs. */
function recording<T extends object>(calls: Calls, impl: T): T {
  return new Proxy(impl, {
    get(target, key, receiver) {
      const v = Reflect.get(target, key, receiver) as unknown;
      if (typeof v !== 'function') return v;
      return (req: unknown) => {
        calls.push({ method: String(key), req });
        return (v as (r: unknown) => unknown).call(target, req);
      };
    },
  });
}

function fakeNetwork(calls: Calls): NetworkDriverApi {
  const ok = async () => ({});
  return recording(calls, {
    getCapabilities: async () => ({ Scope: 'local' as const, ConnectivityScope: 'local' as const }),
    gwAllocCheck: async () => ({ SkipIPv4: false, SkipIPv6: false }),
    createNetwork: ok,
    deleteNetwork: async (req) => {
      if (req.NetworkID === 'c'.repeat(64)) throw new ConflictError(`network ${req.NetworkID.slice(0, 12)} still has 2 endpoints`);
      return {};
    },
    allocateNetwork: async () => ({ Options: {} }),
    freeNetwork: ok,
    createEndpoint: async () => ({ Interface: { MacAddress: '02:42:0a:14:00:05' } }),
    deleteEndpoint: ok,
    endpointOperInfo: async () => ({ Value: { hostIface: 'tsv1' } }),
    join: async () => ({ InterfaceName: { SrcName: 'tsv1c', DstPrefix: 'eth' }, Gateway: '10.20.0.1' }),
    leave: ok,
    programExternalConnectivity: ok,
    revokeExternalConnectivity: async () => {
      throw new Error('iptables-restore failed: boom');
    },
    discoverNew: ok,
    discoverDelete: ok,
  });
}

function fakeIpam(calls: Calls): IpamDriverApi {
  return recording(calls, {
    getCapabilities: async () => ({ RequiresMACAddress: false, RequiresRequestReplay: true }),
    getDefaultAddressSpaces: async () => ({ LocalDefaultAddressSpace: 'LocalDefault', GlobalDefaultAddressSpace: 'GlobalDefault' }),
    requestPool: async (req) => ({ PoolID: `LocalDefault/${req.Pool || '10.20.0.0/24'}`, Pool: req.Pool || '10.20.0.0/24', Data: {} }),
    releasePool: async () => ({}),
    requestAddress: async (req) => ({ Address: `${req.Address || '10.20.0.2'}/24`, Data: {} }),
    releaseAddress: async (req) => {
      if (req.PoolID === 'LocalDefault/none') throw new NotFoundError('pool LocalDefault/none not found');
      return {};
    },
  });
}

function fakeVolume(calls: Calls): VolumeDriverApi {
  return recording(calls, {
    create: async () => ({}),
    remove: async () => ({}),
    mount: async (req) => ({ Mountpoint: `/var/lib/tsnet/volumes/${req.Name}` }),
    unmount: async () => ({}),
    path: async (req) => ({ Mountpoint: `/var/lib/tsnet/volumes/${req.Name}` }),
    get: async (req) => ({ Volume: { Name: req.Name, Mountpoint: '', CreatedAt: '2026-01-01T00:00:00Z', Status: {} } }),
    list: async () => ({ Volumes: [] }),
    capabilities: async () => ({ Capabilities: { Scope: 'local' as const } }),
  });
}

let dir: string;
let calls: Calls;
let server: PluginServer;
let logStream: PassThrough;
let logText: string;
let sock: string;

async function start(interfaces: BoundInterface[], maxBodyBytes?: number): Promise<PluginServer> {
  server = await PluginServer.listen({
    socketPath: sock,
    interfaces,
    log: createLogger({ stream: logStream, level: 'debug' }),
    ...(maxBodyBytes === undefined ? {} : { maxBodyBytes }),
  });
  return server;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tstest-proto-'));
  sock = join(dir, 'plugin.sock');
  calls = [];
  logText = '';
  logStream = new PassThrough();
  logStream.setEncoding('utf8').on('data', (d: string) => (logText += d));
});

afterEach(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

async function post(call: string, body: string | undefined) {
  const reply = await postRaw(sock, call, body);
  return { status: reply.status, json: JSON.parse(reply.text) as Record<string, unknown> };
}

describe('Plugin.Activate', () => {
  it('lists every interface served on the socket, with an empty body', async () => {
    await start([bindNetworkDriver(fakeNetwork(calls)), bindIpamDriver(fakeIpam(calls))]);
    expect(await post('Plugin.Activate', undefined)).toEqual({ status: 200, json: { Implements: ['NetworkDriver', 'IpamDriver'] } });
    expect(await post('Plugin.Activate', '{}\n')).toEqual({ status: 200, json: { Implements: ['NetworkDriver', 'IpamDriver'] } });
  });
});

interface Case {
  call: string;
  body: unknown;
  reply: object;
  /** The request as the driver must receive it (defaults filled in). */
  received?: object;
}

const network: Case[] = [
  { call: 'GetCapabilities', body: undefined, reply: { Scope: 'local', ConnectivityScope: 'local' }, received: {} },
  { call: 'GwAllocCheck', body: { Options: { 'com.docker.network.generic': { mode: 'none' } } }, reply: { SkipIPv4: false, SkipIPv6: false } },
  {
    call: 'CreateNetwork',
    body: {
      NetworkID: NID,
      Options: { 'com.docker.network.enable_ipv6': false, 'com.docker.network.generic': { mode: 'none' } },
      IPv4Data: [{ AddressSpace: 'LocalDefault', Pool: '10.20.0.0/24', Gateway: '10.20.0.1/24', AuxAddresses: { r: '10.20.0.2/24' } }],
      IPv6Data: [],
    },
    reply: {},
  },
  {
    call: 'CreateNetwork',
    body: { NetworkID: NID, Options: null, IPv4Data: [{ AddressSpace: '', Pool: '10.20.0.0/24' }], IPv6Data: null },
    reply: {},
    received: { NetworkID: NID, Options: {}, IPv4Data: [{ AddressSpace: '', Pool: '10.20.0.0/24', Gateway: '', AuxAddresses: {} }], IPv6Data: [] },
  },
  { call: 'DeleteNetwork', body: { NetworkID: NID }, reply: {} },
  {
    call: 'AllocateNetwork',
    body: { NetworkID: NID, Options: { a: 'b' }, IPv4Data: [{ Pool: '10.0.0.0/24', Gateway: '10.0.0.1/24' }], IPv6Data: null },
    reply: { Options: {} },
    received: { NetworkID: NID, Options: { a: 'b' }, IPv4Data: [{ AddressSpace: '', Pool: '10.0.0.0/24', Gateway: '10.0.0.1/24', AuxAddresses: {} }], IPv6Data: [] },
  },
  { call: 'FreeNetwork', body: { NetworkID: NID }, reply: {} },
  {
    call: 'CreateEndpoint',
    body: { NetworkID: NID, EndpointID: EID, Interface: { Address: '10.20.0.5/24', AddressIPv6: '', MacAddress: '' }, Options: { 'com.docker.network.endpoint.macaddress': 'AkIKFAAF' } },
    reply: { Interface: { MacAddress: '02:42:0a:14:00:05' } },
  },
  { call: 'DeleteEndpoint', body: { NetworkID: NID, EndpointID: EID }, reply: {} },
  { call: 'EndpointOperInfo', body: { NetworkID: NID, EndpointID: EID }, reply: { Value: { hostIface: 'tsv1' } } },
  {
    call: 'Join',
    body: { NetworkID: NID, EndpointID: EID, SandboxKey: '/var/run/docker/netns/0123456789ab', Options: { 'com.docker.network.portmap': [] } },
    reply: { InterfaceName: { SrcName: 'tsv1c', DstPrefix: 'eth' }, Gateway: '10.20.0.1' },
  },
  { call: 'Leave', body: { NetworkID: NID, EndpointID: EID }, reply: {} },
  { call: 'ProgramExternalConnectivity', body: { NetworkID: NID, EndpointID: EID, Options: {} }, reply: {} },
  { call: 'DiscoverNew', body: { DiscoveryType: 1, DiscoveryData: { Address: '10.0.0.2', Self: true } }, reply: {} },
  { call: 'DiscoverDelete', body: { DiscoveryType: 1, DiscoveryData: {} }, reply: {} },
];

const ipam: Case[] = [
  { call: 'GetCapabilities', body: undefined, reply: { RequiresMACAddress: false, RequiresRequestReplay: true } },
  { call: 'GetDefaultAddressSpaces', body: undefined, reply: { LocalDefaultAddressSpace: 'LocalDefault', GlobalDefaultAddressSpace: 'GlobalDefault' } },
  {
    call: 'RequestPool',
    body: { AddressSpace: 'LocalDefault', Pool: '10.20.0.0/24', SubPool: '10.20.0.128/25', Options: null, V6: false },
    reply: { PoolID: 'LocalDefault/10.20.0.0/24', Pool: '10.20.0.0/24', Data: {} },
    received: { AddressSpace: 'LocalDefault', Pool: '10.20.0.0/24', SubPool: '10.20.0.128/25', Options: {}, V6: false },
  },
  { call: 'RequestPool', body: { AddressSpace: 'LocalDefault', Pool: '', SubPool: '', Options: {}, V6: true }, reply: { PoolID: 'LocalDefault/10.20.0.0/24', Pool: '10.20.0.0/24', Data: {} } },
  { call: 'ReleasePool', body: { PoolID: 'LocalDefault/10.20.0.0/24' }, reply: {} },
  {
    call: 'RequestAddress',
    body: { PoolID: 'LocalDefault/10.20.0.0/24', Address: '10.20.0.1', Options: { RequestAddressType: 'com.docker.network.gateway' } },
    reply: { Address: '10.20.0.1/24', Data: {} },
  },
  {
    call: 'RequestAddress',
    body: { PoolID: 'LocalDefault/10.20.0.0/24', Address: '', Options: null },
    reply: { Address: '10.20.0.2/24', Data: {} },
    received: { PoolID: 'LocalDefault/10.20.0.0/24', Address: '', Options: {} },
  },
  { call: 'ReleaseAddress', body: { PoolID: 'LocalDefault/10.20.0.0/24', Address: '10.20.0.2' }, reply: {} },
];

const volume: Case[] = [
  { call: 'Create', body: { Name: 'v1', Opts: { type: 'tmpfs', size: '64m' } }, reply: {} },
  { call: 'Create', body: { Name: 'v1', Opts: null }, reply: {}, received: { Name: 'v1', Opts: {} } },
  { call: 'Remove', body: { Name: 'v1' }, reply: {} },
  { call: 'Mount', body: { Name: 'v1', ID: 'c'.repeat(64) }, reply: { Mountpoint: '/var/lib/tsnet/volumes/v1' } },
  { call: 'Unmount', body: { Name: 'v1', ID: 'c'.repeat(64) }, reply: {} },
  { call: 'Path', body: { Name: 'v1' }, reply: { Mountpoint: '/var/lib/tsnet/volumes/v1' } },
  { call: 'Get', body: { Name: 'v1' }, reply: { Volume: { Name: 'v1', Mountpoint: '', CreatedAt: '2026-01-01T00:00:00Z', Status: {} } } },
  { call: 'List', body: {}, reply: { Volumes: [] } },
  { call: 'Capabilities', body: {}, reply: { Capabilities: { Scope: 'local' } } },
];

const suites: Array<[string, (c: Calls) => BoundInterface, Case[]]> = [
  ['NetworkDriver', (c) => bindNetworkDriver(fakeNetwork(c)), network],
  ['IpamDriver', (c) => bindIpamDriver(fakeIpam(c)), ipam],
  ['VolumeDriver', (c) => bindVolumeDriver(fakeVolume(c)), volume],
];

describe.each(suites)('%s happy paths', (iface, bind, cases) => {
  it.each(cases.map((c, i) => [`${c.call} #${i}`, c] as const))('%s answers 200 with the exact shape', async (_n, c) => {
    await start([bind(calls)]);
    const body = c.body === undefined ? undefined : JSON.stringify(c.body) + '\n';
    expect(await post(`${iface}.${c.call}`, body)).toEqual({ status: 200, json: c.reply });
    expect(calls).toHaveLength(1);
    expect(calls[0]!.method).toBe(c.call[0]!.toLowerCase() + c.call.slice(1));
    expect(calls[0]!.req).toEqual(c.received ?? c.body ?? {});
    expect(JSON.parse(logText.trim())).toMatchObject({ level: 'info', msg: 'request', call: `${iface}.${c.call}`, status: 200 });
  });
});

interface BadCase {
  call: string;
  body: string | undefined;
  status: number;
  err: string;
}

const bad: BadCase[] = [
  // Empty bodies where fields are required.
  { call: 'NetworkDriver.CreateNetwork', body: undefined, status: 400, err: 'invalid NetworkDriver.CreateNetwork request: NetworkID is required' },
  { call: 'NetworkDriver.DeleteNetwork', body: '', status: 400, err: 'invalid NetworkDriver.DeleteNetwork request: NetworkID is required' },
  { call: 'NetworkDriver.CreateEndpoint', body: undefined, status: 400, err: 'invalid NetworkDriver.CreateEndpoint request: NetworkID is required; EndpointID is required' },
  { call: 'NetworkDriver.Join', body: JSON.stringify({ NetworkID: NID, EndpointID: EID }), status: 400, err: 'invalid NetworkDriver.Join request: SandboxKey is required' },
  { call: 'NetworkDriver.Leave', body: '{}', status: 400, err: 'invalid NetworkDriver.Leave request: NetworkID is required; EndpointID is required' },
  { call: 'NetworkDriver.EndpointOperInfo', body: JSON.stringify({ NetworkID: NID }), status: 400, err: 'invalid NetworkDriver.EndpointOperInfo request: EndpointID is required' },
  { call: 'IpamDriver.RequestAddress', body: undefined, status: 400, err: 'invalid IpamDriver.RequestAddress request: PoolID is required' },
  { call: 'IpamDriver.ReleasePool', body: '{}', status: 400, err: 'invalid IpamDriver.ReleasePool request: PoolID is required' },
  { call: 'VolumeDriver.Mount', body: undefined, status: 400, err: 'invalid VolumeDriver.Mount request: Name is required; ID is required' },
  { call: 'VolumeDriver.Get', body: '{}', status: 400, err: 'invalid VolumeDriver.Get request: Name is required' },
  // Malformed JSON.
  { call: 'NetworkDriver.CreateNetwork', body: '{"NetworkID": ', status: 400, err: 'request body is not valid JSON: ' },
  { call: 'IpamDriver.RequestPool', body: 'not json', status: 400, err: 'request body is not valid JSON: ' },
  { call: 'VolumeDriver.Create', body: '{"Name": "v",}', status: 400, err: 'request body is not valid JSON: ' },
  // Not an object.
  { call: 'NetworkDriver.DeleteNetwork', body: '[]', status: 400, err: 'invalid NetworkDriver.DeleteNetwork request: body must be a JSON object, got array' },
  { call: 'VolumeDriver.Remove', body: 'null', status: 400, err: 'invalid VolumeDriver.Remove request: body must be a JSON object, got null' },
  // Wrong field types and values.
  { call: 'NetworkDriver.CreateNetwork', body: JSON.stringify({ NetworkID: 5 }), status: 400, err: 'invalid NetworkDriver.CreateNetwork request: NetworkID must be a string, got number' },
  { call: 'NetworkDriver.CreateNetwork', body: JSON.stringify({ NetworkID: NID, Options: 'x' }), status: 400, err: 'invalid NetworkDriver.CreateNetwork request: Options must be a record, got string' },
  { call: 'NetworkDriver.CreateNetwork', body: JSON.stringify({ NetworkID: NID, IPv4Data: [{ Pool: '10.0.0.0' }] }), status: 400, err: 'invalid NetworkDriver.CreateNetwork request: IPv4Data.0.Pool must be an address with a prefix length, e.g. 10.20.0.0/24' },
  { call: 'NetworkDriver.CreateNetwork', body: JSON.stringify({ NetworkID: '../etc' }), status: 400, err: 'invalid NetworkDriver.CreateNetwork request: NetworkID must be a Docker ID: 1 to 128 lower-case letters and digits (dockerd sends 64 hex digits)' },
  // IDs end up in kernel object names: only what Docker sends passes (a fuzz once got "999.1.1.1" to a driver).
  { call: 'NetworkDriver.CreateNetwork', body: JSON.stringify({ NetworkID: '999.1.1.1' }), status: 400, err: 'invalid NetworkDriver.CreateNetwork request: NetworkID must be a Docker ID: 1 to 128 lower-case letters and digits (dockerd sends 64 hex digits)' },
  { call: 'NetworkDriver.CreateEndpoint', body: JSON.stringify({ NetworkID: NID, EndpointID: 'B'.repeat(64) }), status: 400, err: 'invalid NetworkDriver.CreateEndpoint request: EndpointID must be a Docker ID: 1 to 128 lower-case letters and digits (dockerd sends 64 hex digits)' },
  { call: 'NetworkDriver.Leave', body: JSON.stringify({ NetworkID: 'a'.repeat(129), EndpointID: EID }), status: 400, err: 'invalid NetworkDriver.Leave request: NetworkID must be a Docker ID: 1 to 128 lower-case letters and digits (dockerd sends 64 hex digits)' },
  { call: 'NetworkDriver.Join', body: JSON.stringify({ NetworkID: NID, EndpointID: EID, SandboxKey: 'netns/x' }), status: 400, err: 'invalid NetworkDriver.Join request: SandboxKey must be the absolute path of a network namespace, e.g. /var/run/docker/netns/1a2b3c4d5e6f' },
  { call: 'NetworkDriver.Join', body: JSON.stringify({ NetworkID: NID, EndpointID: EID, SandboxKey: '/run/netns/../../etc' }), status: 400, err: 'invalid NetworkDriver.Join request: SandboxKey must not contain ".." components' },
  { call: 'NetworkDriver.CreateEndpoint', body: JSON.stringify({ NetworkID: NID, EndpointID: EID, Interface: { Address: '10.0.0.5', MacAddress: 'zz' } }), status: 400, err: 'invalid NetworkDriver.CreateEndpoint request: Interface.Address must be an address with a prefix length, e.g. 10.20.0.0/24; Interface.MacAddress must be a MAC address like 02:42:0a:14:00:05' },
  { call: 'NetworkDriver.DiscoverNew', body: JSON.stringify({ DiscoveryType: 'node' }), status: 400, err: 'invalid NetworkDriver.DiscoverNew request: DiscoveryType must be a number, got string' },
  { call: 'IpamDriver.RequestPool', body: JSON.stringify({ AddressSpace: 'LocalDefault', Pool: '10.0.0.0/24', V6: 'yes' }), status: 400, err: 'invalid IpamDriver.RequestPool request: V6 must be a boolean, got string' },
  { call: 'IpamDriver.RequestPool', body: JSON.stringify({ Pool: '10.0.0.0/40' }), status: 400, err: 'invalid IpamDriver.RequestPool request: Pool must be an address with a prefix length, e.g. 10.20.0.0/24' },
  { call: 'IpamDriver.RequestAddress', body: JSON.stringify({ PoolID: 'p', Address: '10.0.0.300' }), status: 400, err: 'invalid IpamDriver.RequestAddress request: Address must be a plain IP address, e.g. 10.20.0.5' },
  { call: 'IpamDriver.ReleaseAddress', body: JSON.stringify({ PoolID: 'p', Address: '' }), status: 400, err: 'invalid IpamDriver.ReleaseAddress request: Address must be a plain IP address, e.g. 10.20.0.5' },
  { call: 'IpamDriver.RequestPool', body: JSON.stringify({ Options: { a: 1 } }), status: 400, err: 'invalid IpamDriver.RequestPool request: Options.a must be a string, got number' },
  { call: 'VolumeDriver.Create', body: JSON.stringify({ Name: '' }), status: 400, err: 'invalid VolumeDriver.Create request: Name "" is not a valid volume name: expected at least two characters of [a-zA-Z0-9_.-] starting with a letter or digit, as Docker requires' },
  { call: 'VolumeDriver.Create', body: JSON.stringify({ Name: 'v' }), status: 400, err: 'invalid VolumeDriver.Create request: Name "v" is not a valid volume name: expected at least two characters of [a-zA-Z0-9_.-] starting with a letter or digit, as Docker requires' },
  { call: 'VolumeDriver.Remove', body: JSON.stringify({ Name: '../etc' }), status: 400, err: 'invalid VolumeDriver.Remove request: Name "../etc" is not a valid volume name: expected at least two characters of [a-zA-Z0-9_.-] starting with a letter or digit, as Docker requires' },
  { call: 'VolumeDriver.Get', body: JSON.stringify({ Name: 'v'.repeat(256) }), status: 400, err: `invalid VolumeDriver.Get request: Name "${'v'.repeat(80)}…" is 256 characters long; at most 255 are allowed` },
  { call: 'VolumeDriver.Create', body: JSON.stringify({ Name: 'v1', Opts: { size: 64 } }), status: 400, err: 'invalid VolumeDriver.Create request: Opts.size must be a string, got number' },
  { call: 'VolumeDriver.Unmount', body: JSON.stringify({ Name: 'v1', ID: 7 }), status: 400, err: 'invalid VolumeDriver.Unmount request: ID must be a string, got number' },
  { call: 'VolumeDriver.Mount', body: JSON.stringify({ Name: 'v1', ID: '../x' }), status: 400, err: 'invalid VolumeDriver.Mount request: ID must be a Docker ID: 1 to 128 lower-case letters and digits (dockerd sends 64 hex digits)' },
  // Unknown methods and interfaces.
  { call: 'NetworkDriver.Frobnicate', body: '{}', status: 404, err: 'unknown method /NetworkDriver.Frobnicate: this plugin implements NetworkDriver, IpamDriver, VolumeDriver' },
  { call: 'LogDriver.StartLogging', body: '{}', status: 404, err: 'unknown method /LogDriver.StartLogging: this plugin implements NetworkDriver, IpamDriver, VolumeDriver' },
  { call: 'nonsense', body: undefined, status: 404, err: 'unknown method /nonsense: this plugin implements NetworkDriver, IpamDriver, VolumeDriver' },
  // Failures inside the driver.
  { call: 'NetworkDriver.DeleteNetwork', body: JSON.stringify({ NetworkID: 'c'.repeat(64) }), status: 500, err: 'network cccccccccccc still has 2 endpoints' },
  { call: 'NetworkDriver.RevokeExternalConnectivity', body: JSON.stringify({ NetworkID: NID, EndpointID: EID }), status: 500, err: 'iptables-restore failed: boom' },
  { call: 'IpamDriver.ReleaseAddress', body: JSON.stringify({ PoolID: 'LocalDefault/none', Address: '10.0.0.1' }), status: 500, err: 'pool LocalDefault/none not found' },
];

describe('bad input', () => {
  it.each(bad.map((b) => [`${b.call} ${b.body === undefined ? '(empty)' : b.body.slice(0, 40)}`, b] as const))(
    '%s → exact status and Err, driver not called when invalid',
    async (_n, b) => {
      await start(suites.map(([, bind]) => bind(calls)));
      const reply = await post(b.call, b.body);
      expect(reply.status).toBe(b.status);
      if (b.err.endsWith(': ')) expect(String(reply.json.Err)).toMatch(new RegExp(`^${b.err}.+`));
      else expect(reply.json).toEqual({ Err: b.err });
      if (b.status !== 500) expect(calls).toEqual([]);
      // The process keeps serving after every rejection.
      expect((await post('Plugin.Activate', undefined)).status).toBe(200);
    },
  );

  it('refuses an oversized body with 413 and keeps serving', async () => {
    await start([bindVolumeDriver(fakeVolume(calls))], 1024);
    const reply = await post('VolumeDriver.Create', JSON.stringify({ Name: 'v', Opts: { pad: 'x'.repeat(4096) } }));
    expect(reply).toEqual({ status: 413, json: { Err: 'request body larger than 1024 bytes' } });
    expect(calls).toEqual([]);
    expect((await post('VolumeDriver.List', '{}')).status).toBe(200);
  });

  it('answers non-POST methods with 405', async () => {
    await start([bindVolumeDriver(fakeVolume(calls))]);
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      request({ socketPath: sock, method: 'GET', path: '/VolumeDriver.List' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on('error', reject)
        .end();
    });
    expect(status).toBe(405);
  });

  it('answers bytes that are not HTTP with 400 and an Err body, and keeps serving', async () => {
    await start([bindVolumeDriver(fakeVolume(calls))]);
    const { connect } = await import('node:net');
    const raw = await new Promise<string>((resolve, reject) => {
      let t = '';
      const s = connect(sock, () => s.end('GARBAGE /x HTTP/9\r\n\r\n'));
      s.setEncoding('utf8').on('data', (d: string) => (t += d));
      s.on('end', () => resolve(t)).on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4))).toEqual({ Err: expect.stringMatching(/^malformed HTTP request: /) });
    expect((await post('VolumeDriver.List', '{}')).status).toBe(200);
  });

  it('ignores a misleading Content-Type and still parses JSON', async () => {
    await start([bindVolumeDriver(fakeVolume(calls))]);
    const { request } = await import('node:http');
    const text = await new Promise<string>((resolve, reject) => {
      const req = request({ socketPath: sock, method: 'POST', path: '/VolumeDriver.Get', headers: { 'Content-Type': 'text/plain' } }, (res) => {
        let t = '';
        res.setEncoding('utf8').on('data', (d: string) => (t += d));
        res.on('end', () => resolve(t));
      });
      req.on('error', reject);
      req.end(JSON.stringify({ Name: 'v9' }));
    });
    expect(JSON.parse(text)).toMatchObject({ Volume: { Name: 'v9' } });
  });
});

describe('client', () => {
  it('treats non-200 and Err as failure, naming the call', async () => {
    await start(suites.map(([, bind]) => bind(calls)));
    await expect(callPlugin(sock, 'NetworkDriver.DeleteNetwork', { NetworkID: 'c'.repeat(64) })).rejects.toThrow(
      new PluginCallError('NetworkDriver.DeleteNetwork', 500, 'network cccccccccccc still has 2 endpoints'),
    );
    expect(await callPlugin(sock, 'IpamDriver.GetDefaultAddressSpaces')).toEqual({
      LocalDefaultAddressSpace: 'LocalDefault',
      GlobalDefaultAddressSpace: 'GlobalDefault',
    });
  });

  it('times out on a plugin that never answers', async () => {
    const silent = createServer(() => undefined);
    const path = join(dir, 'silent.sock');
    await new Promise<void>((r) => silent.listen(path, r));
    try {
      await expect(callPlugin(path, 'NetworkDriver.GetCapabilities', undefined, 200)).rejects.toThrow(
        `NetworkDriver.GetCapabilities: no answer from ${path} within 200 ms`,
      );
    } finally {
      silent.close();
    }
  });

  it('serves concurrent calls', async () => {
    await start([bindIpamDriver(fakeIpam(calls))]);
    const replies = await Promise.all(
      Array.from({ length: 50 }, (_, i) => callPlugin(sock, 'IpamDriver.RequestAddress', { PoolID: 'p', Address: `10.20.0.${i + 10}` })),
    );
    expect(replies.map((r) => r.Address)).toEqual(Array.from({ length: 50 }, (_, i) => `10.20.0.${i + 10}/24`));
  });
});

describe('socket lifecycle', () => {
  it('creates the socket with mode 0600 and removes it on close', async () => {
    await start([bindVolumeDriver(fakeVolume(calls))]);
    expect((await stat(sock)).mode & 0o777).toBe(0o600);
    await server.close();
    await server.close();
    await expect(lstat(sock)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('replaces a stale socket left by a process killed with -9', async () => {
    const child = startProcess([process.execPath, '-e', `require('net').createServer().listen(${JSON.stringify(sock)}, () => console.log('up'))`], { stdout: 'pipe' });
    await new Promise((r) => child.stdout!.once('data', r));
    child.kill('SIGKILL');
    await child.done;
    expect((await lstat(sock)).isSocket()).toBe(true);
    await start([bindVolumeDriver(fakeVolume(calls))]);
    expect((await post('VolumeDriver.List', '{}')).status).toBe(200);
  });

  it('refuses to take over a live socket or a file that is not a socket', async () => {
    const first = await start([bindVolumeDriver(fakeVolume(calls))]);
    await expect(
      PluginServer.listen({ socketPath: sock, interfaces: [], log: createLogger({ stream: logStream }) }),
    ).rejects.toThrow(`another process is already serving ${sock}`);
    expect((await post('VolumeDriver.List', '{}')).status).toBe(200);
    await first.close();
    const plain = join(dir, 'file.sock');
    await writeFile(plain, 'data');
    await expect(PluginServer.listen({ socketPath: plain, interfaces: [], log: createLogger({ stream: logStream }) })).rejects.toThrow(
      `${plain} exists and is not a socket; refusing to replace it`,
    );
  });

  it('logs one JSON line per request, with short IDs and the outcome', async () => {
    await start([bindNetworkDriver(fakeNetwork(calls))]);
    await post('NetworkDriver.Leave', JSON.stringify({ NetworkID: NID, EndpointID: EID }));
    await post('NetworkDriver.Leave', '{}');
    const lines = logText.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: 'info', call: 'NetworkDriver.Leave', NetworkID: NID.slice(0, 12), EndpointID: EID.slice(0, 12), status: 200 });
    expect(typeof lines[0]!.ms).toBe('number');
    expect(lines[1]).toMatchObject({ level: 'warn', msg: 'request refused', status: 400, code: 'ERR_INVALID_REQUEST' });
  });

  it('answers an expected not-found as Err but logs and counts it as a routine request, not a refusal', async () => {
    const seen: string[] = [];
    const driver = fakeVolume(calls);
    driver.get = async (req) => {
      throw new NotFoundError(`volume "${req.Name}" not found`, { expected: req.Name === 'probe' });
    };
    server = await PluginServer.listen({
      socketPath: sock,
      interfaces: [bindVolumeDriver(driver)],
      log: createLogger({ stream: logStream, level: 'debug' }),
      observe: (c) => seen.push(c.outcome),
    });
    expect(await post('VolumeDriver.Get', JSON.stringify({ Name: 'probe' }))).toEqual({ status: 500, json: { Err: 'volume "probe" not found' } });
    await post('VolumeDriver.Get', JSON.stringify({ Name: 'other' }));
    const lines = logText.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ level: 'info', msg: 'request', call: 'VolumeDriver.Get', status: 500, code: 'ERR_NOT_FOUND' });
    expect(lines[1]).toMatchObject({ level: 'warn', msg: 'request refused', code: 'ERR_NOT_FOUND' });
    expect(seen).toEqual(['expected', 'refused']);
  });
});
