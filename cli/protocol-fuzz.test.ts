/**
 * @module Property-based fuzz of the plugin protocol: `tsnet serve` with all three plugins on one
 * socket (tsipam as in production on LevelDB; tsnet and tsvol with their real drivers on the recording
 * fake kernels, so no root), hit by more than 10,000 generated requests per run. Valid requests are
 * built in the shapes of the request schemas, then mutated (wrong types, missing fields, huge strings,
 * odd unicode, ID-like junk, wrong paths and methods, invalid JSON, empty bodies). Asserts that the
 * server keeps serving, every non-200 answer is `{"Err": non-empty}`, a request its schema refuses is
 * answered 400 (never a 500, never reaching a driver), and no request is logged as an unexpected error.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import type { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../common/log.js';
import { DOCKER_INTERFACE, READY_CALL, type PluginFactory, type PluginKind } from '../common/plugin.js';
import { bindInterface } from '../common/protocol/api.js';
import { postRaw, type RawReply } from '../common/protocol/client.js';
import { ipamRequests } from '../common/protocol/ipam-api.js';
import { bindNetworkDriver, networkRequests } from '../common/protocol/network-api.js';
import { DEFAULT_MAX_BODY } from '../common/protocol/server.js';
import { bindVolumeDriver, volumeRequests } from '../common/protocol/volume-api.js';
import { freeSubnets } from '../testing/kernel/subnets.js';
import { bindNetworkAdmin } from '../network-driver/admin.js';
import { NetworkDriver } from '../network-driver/driver.js';
import { createBridgeMode } from '../network-driver/modes/bridge/bridge-mode.js';
import { createMacvlanMode } from '../network-driver/modes/macvlan/macvlan-mode.js';
import { createNoneMode } from '../network-driver/modes/none/none-mode.js';
import { createOverlayMode } from '../network-driver/modes/overlay/overlay-mode.js';
import { instanceTag } from '../network-driver/modes/shared/instance.js';
import { fakeKernel } from '../network-driver/modes/testing/fake-kernel.js';
import { VolumeAdminSpec } from '../volume-driver/admin-api.js';
import { createFakeHost } from '../volume-driver/testing/fake-host.js';
import { openVolumes } from '../volume-driver/plugin.js';
import { PLUGIN_FACTORIES } from './plugins.js';
import { serve, type Serving } from './serve.js';

/** Requests per property run, sent concurrently. */
const BATCH = 50;
/** Property runs: BATCH × RUNS requests per test run, more while fast-check shrinks a failure. */
const RUNS = 210;

/** tsnet with its four modes on the recording fake kernel (an uplink `eth0`, and `p0` for macvlan). */
const fakeKernelNetwork: PluginFactory = async ({ store, log, stateDir }) => {
  const tag = instanceTag(stateDir);
  const kernel = fakeKernel();
  kernel.addDevice('p0');
  const modes = [createNoneMode(), createBridgeMode({ kernel, tag, log }), createOverlayMode({ kernel, tag, log }), createMacvlanMode({ kernel, tag, log })];
  const driver = new NetworkDriver({ modes, store, log, ipv6Disabled: async () => undefined });
  await driver.restore();
  return { interfaces: [bindNetworkDriver(driver), bindNetworkAdmin(driver)], close: async () => driver.close() };
};

/** tsvol on the recording fake host (data directories are real, under the test's state dir). */
const fakeHostVolume: PluginFactory = async (ctx) => {
  const { driver, admin } = await openVolumes({ ...ctx, host: createFakeHost() });
  return { interfaces: [bindVolumeDriver(driver), bindInterface(VolumeAdminSpec, admin)] };
};

/** One request as sent: `call` is the path without its leading `/`; `body` undefined = empty. */
interface FuzzRequest {
  origin: 'valid' | 'field' | 'body' | 'path' | 'method';
  method: string;
  call: string;
  body: string | undefined;
}

/** Every Docker-facing method and its request schema, by `Interface.Method`. */
const SCHEMAS = new Map<string, z.ZodType>(
  (
    [
      ['network', networkRequests],
      ['ipam', ipamRequests],
      ['volume', volumeRequests],
    ] as Array<[PluginKind, Record<string, z.ZodType>]>
  ).flatMap(([kind, table]) => Object.entries(table).map(([m, s]) => [`${DOCKER_INTERFACE[kind]}.${m}`, s] as [string, z.ZodType])),
);

/** Objects the valid requests name, so that sequences meet (create, then join, then delete). */
interface World {
  nets: string[];
  eps: string[];
  mounts: string[];
  vols: string[];
  v4: string[];
  v6: string[];
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

async function makeWorld(): Promise<World> {
  return {
    nets: Array.from({ length: 4 }, () => hex(32)),
    eps: Array.from({ length: 4 }, () => hex(32)),
    mounts: Array.from({ length: 3 }, () => hex(32)),
    vols: ['tstest-fz-a', 'tstest-fz-b', 'tstest-fz-c'],
    v4: await freeSubnets(3, { family: 4, prefixLen: 24 }),
    v6: await freeSubnets(2, { family: 6, prefixLen: 64 }),
  };
}

/** Host `n` of an IPv4 /24 or an IPv6 /64 (whose text ends in `::`). */
function hostOf(subnet: string, n: number): string {
  const base = subnet.split('/')[0]!;
  return base.includes(':') ? `${base}${n.toString(16)}` : `${base.split('.').slice(0, 3).join('.')}.${n}`;
}

/** Valid requests for every method of the three APIs, in the shapes dockerd and engine-lite send. */
function validRequests(w: World): fc.Arbitrary<{ call: string; body: unknown }> {
  const hex64 = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 });
  const oneOf = <T>(known: T[], fresh: fc.Arbitrary<T>) => fc.oneof({ arbitrary: fc.constantFrom(...known), weight: 5 }, { arbitrary: fresh, weight: 1 });
  const net = oneOf(w.nets, hex64);
  const ep = oneOf(w.eps, hex64);
  const v4 = fc.constantFrom(...w.v4);
  const host = fc.integer({ min: 1, max: 254 });
  const generic = fc.oneof(
    fc.constant({ mode: 'none' }),
    fc.constant({ mode: 'bridge' }),
    fc.constant({ mode: 'bridge', 'com.docker.network.bridge.enable_icc': 'false', mtu: '1400' }),
    fc.constant({ mode: 'macvlan', parent: 'p0' }),
    fc.integer({ min: 1, max: 30_000 }).map((vni) => ({ mode: 'overlay', vni: String(vni) })),
  );
  const ipamData = v4.map((p) => [{ AddressSpace: 'LocalDefault', Pool: p, Gateway: `${hostOf(p, 1)}/24`, AuxAddresses: {} }]);
  const ports = fc.oneof(
    fc.constant({}),
    fc.record({
      'com.docker.network.portmap': fc.constant([{ Proto: 6, IP: '', Port: 80, HostIP: '', HostPort: 18080, HostPortEnd: 18080 }]),
      'com.docker.network.endpoint.exposedports': fc.constant([{ Proto: 6, Port: 80 }]),
    }),
  );
  const endpoint = fc.record({ NetworkID: net, EndpointID: ep });
  const poolId = v4.map((p) => `LocalDefault/${p}`);
  const vol = oneOf(w.vols, fc.constantFrom('tstest-fz-d', 'x1', 'Vol_2.x-y'));
  const mount = fc.record({ Name: vol, ID: oneOf(w.mounts, hex64) });
  const call = <T>(name: string, body: fc.Arbitrary<T>) => body.map((b) => ({ call: name, body: b as unknown }));
  return fc.oneof(
    call('Plugin.Activate', fc.constant({})),
    call('NetworkDriver.GetCapabilities', fc.constant({})),
    call('NetworkDriver.GwAllocCheck', fc.constant({ Options: {} })),
    call(
      'NetworkDriver.CreateNetwork',
      fc.record({ NetworkID: net, Options: generic.map((g) => ({ 'com.docker.network.generic': g, 'com.docker.network.enable_ipv6': false })), IPv4Data: ipamData, IPv6Data: fc.constant([]) }),
    ),
    call('NetworkDriver.DeleteNetwork', fc.record({ NetworkID: net })),
    call('NetworkDriver.AllocateNetwork', fc.record({ NetworkID: net, Options: fc.constant({}), IPv4Data: ipamData })),
    call('NetworkDriver.FreeNetwork', fc.record({ NetworkID: net })),
    call(
      'NetworkDriver.CreateEndpoint',
      fc.record({ NetworkID: net, EndpointID: ep, Interface: fc.record({ Address: fc.tuple(v4, host).map(([p, n]) => `${hostOf(p, n)}/24`), AddressIPv6: fc.constant(''), MacAddress: fc.constant('') }), Options: ports }),
    ),
    call('NetworkDriver.DeleteEndpoint', endpoint),
    call('NetworkDriver.EndpointOperInfo', endpoint),
    call('NetworkDriver.Join', fc.record({ NetworkID: net, EndpointID: ep, SandboxKey: fc.constant(`/var/run/docker/netns/${hex(6)}`), Options: ports })),
    call('NetworkDriver.Leave', endpoint),
    call('NetworkDriver.ProgramExternalConnectivity', fc.record({ NetworkID: net, EndpointID: ep, Options: ports })),
    call('NetworkDriver.RevokeExternalConnectivity', endpoint),
    call('NetworkDriver.DiscoverNew', fc.record({ DiscoveryType: fc.constant(1), DiscoveryData: fc.constant({ Address: '10.0.0.1', self: true }) })),
    call('NetworkDriver.DiscoverDelete', fc.record({ DiscoveryType: fc.constant(1), DiscoveryData: fc.constant({ Address: '10.0.0.1', self: true }) })),
    call('IpamDriver.GetCapabilities', fc.constant({})),
    call('IpamDriver.GetDefaultAddressSpaces', fc.constant({})),
    call(
      'IpamDriver.RequestPool',
      fc.oneof(
        fc.record({ AddressSpace: fc.constant('LocalDefault'), Pool: v4, SubPool: fc.constant(''), Options: fc.constant({}), V6: fc.constant(false) }),
        v4.map((p) => ({ AddressSpace: 'LocalDefault', Pool: p, SubPool: `${hostOf(p, 128)}/25`, Options: {}, V6: false })),
        fc.constantFrom(...w.v6).map((p) => ({ AddressSpace: 'LocalDefault', Pool: p, SubPool: '', Options: {}, V6: true })),
      ),
    ),
    call('IpamDriver.ReleasePool', fc.record({ PoolID: poolId })),
    call(
      'IpamDriver.RequestAddress',
      fc.record({
        PoolID: poolId,
        Address: fc.oneof(fc.constant(''), fc.tuple(v4, host).map(([p, n]) => hostOf(p, n))),
        Options: fc.constantFrom({}, { RequestAddressType: 'com.docker.network.gateway' }),
      }),
    ),
    call('IpamDriver.ReleaseAddress', fc.record({ PoolID: poolId, Address: fc.tuple(v4, host).map(([p, n]) => hostOf(p, n)) })),
    call('VolumeDriver.Create', fc.record({ Name: vol, Opts: fc.constantFrom(null, {}, { type: 'tmpfs', size: '1m' }, { size: '10m' }, { type: 'local', mode: '0755' }) })),
    call('VolumeDriver.Remove', fc.record({ Name: vol })),
    call('VolumeDriver.Mount', mount),
    call('VolumeDriver.Unmount', mount),
    call('VolumeDriver.Path', fc.record({ Name: vol })),
    call('VolumeDriver.Get', fc.record({ Name: vol })),
    call('VolumeDriver.List', fc.constant({})),
    call('VolumeDriver.Capabilities', fc.constant({})),
  );
}

/** Values that do not belong where they are put: wrong types, huge and odd strings, ID-like junk. */
const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom('', ' ', '999.1.1.1', '../etc', '..', '/', 'A'.repeat(64), 'a'.repeat(200), 'a\u0000b', '\ud800', 'e\u0301', '\u202eabc', 'tsbr-x', 'eth0'),
  fc.constantFrom('10.0.0.1/33', '::ffff:1.2.3.4', '1.2.3.4', '300.1.1.1', 'fe80::1%eth0', 'LocalDefault/../../x', 'LocalDefault/10.0.0.0/8', '-1', 'NaN', '0x10', '1e400'),
  fc.integer({ min: 1_000, max: 300_000 }).map((n) => 'x'.repeat(n)),
);

type Path = Array<string | number>;

/** Paths to every value nested in `v` (not `v` itself). */
function pathsIn(v: unknown, at: Path = []): Path[] {
  if (v === null || typeof v !== 'object') return [];
  const keys: Array<string | number> = Array.isArray(v) ? Array.from({ length: v.length }, (_, i) => i) : Object.keys(v);
  return keys.flatMap((k) => [[...at, k], ...pathsIn((v as Record<string | number, unknown>)[k], [...at, k])]);
}

/** The container holding the value at `path` (cloned `root`), and the key under which it sits. */
function holder(root: unknown, path: Path): { parent: Record<string | number, unknown>; key: string | number } {
  let parent = root as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
  return { parent, key: path[path.length - 1]! };
}

/**
 * `drop` a field or element, `replace` it with junk, `add` an unknown key, or `retext` a string field
 * with a string that looks like an ID, name or address (what a schema that is too loose lets through).
 */
type FieldMutation = { op: 'drop' | 'replace' | 'add' | 'retext'; pick: number; value: unknown; text: string; key: string };

/** Strings shaped like IDs, pool IDs, names and addresses, most of them not what the field takes. */
const idLike = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,70}$/),
  fc.constantFrom('999.1.1.1', 'A'.repeat(64), 'a'.repeat(129), 'ab', 'x', '-a', '.a', 'a..b', 'LocalDefault/10.0.0.0/8', 'GlobalDefault/x', 'fe80::1', '10.0.0.1/8', '/x', 'p0', 'eth0', 'lo'),
);

/** Applies `m` to a copy of `body` at the path `m.pick` selects (or to the body itself when it has no fields). */
function mutateField(body: unknown, m: FieldMutation): unknown {
  const copy = structuredClone(body);
  const paths = pathsIn(copy);
  // defineProperty, so that `__proto__` becomes a key as JSON.parse would make it, not a prototype.
  const add = (o: object) => Object.defineProperty(o, m.key, { value: m.value, enumerable: true, writable: true, configurable: true });
  if (paths.length === 0) return m.op === 'add' ? add({}) : m.value;
  const { parent, key } = holder(copy, paths[m.pick % paths.length]!);
  if (m.op === 'drop') {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
  } else if (m.op === 'replace') parent[key] = m.value;
  else if (m.op === 'retext') parent[key] = m.text;
  else {
    const target = parent[key];
    if (target !== null && typeof target === 'object' && !Array.isArray(target)) add(target);
    else if (Array.isArray(parent)) parent.push(m.value);
    else add(parent);
  }
  return copy;
}

/** `r`, printed by fast-check (in a counterexample) in one short line: a body may be megabytes. */
function shown(r: FuzzRequest): FuzzRequest {
  const body = r.body === undefined ? '(empty)' : JSON.stringify(r.body.length > 200 ? `${r.body.slice(0, 200)}…(${r.body.length} chars)` : r.body);
  return Object.defineProperty(r, fc.toStringMethod, { value: () => `${r.method} /${r.call} ${body}` });
}

function requests(w: World): fc.Arbitrary<FuzzRequest> {
  const valid = validRequests(w);
  const fieldMutation: fc.Arbitrary<FieldMutation> = fc.record({
    op: fc.constantFrom('drop', 'replace', 'replace', 'add', 'retext', 'retext'),
    pick: fc.nat(),
    value: junk,
    text: idLike,
    key: fc.oneof(fc.constantFrom('NetworkID', 'Name', 'PoolID', '__proto__', 'constructor'), fc.string({ maxLength: 8 })),
  });
  const text = (b: unknown) => JSON.stringify(b) + '\n';
  const post = (origin: FuzzRequest['origin'], call: string, body: string | undefined) => shown({ origin, method: 'POST', call, body });
  return fc.oneof(
    { weight: 3, arbitrary: valid.map((r) => post('valid', r.call, text(r.body))) },
    { weight: 6, arbitrary: fc.tuple(valid, fc.array(fieldMutation, { minLength: 1, maxLength: 3 })).map(([r, ms]) => post('field', r.call, text(ms.reduce(mutateField, r.body)))) },
    {
      weight: 2,
      arbitrary: fc.tuple(
        valid,
        fc.oneof(
          fc.constant(undefined),
          fc.nat().map((n) => (t: string) => t.slice(0, n % t.length)),
          fc.constantFrom('null', '[]', '"x"', '42', 'true', '{', '}', '{"a":}', 'undefined', '\u0000', '{}{}', ' \n\t', '{"NetworkID":"a","NetworkID":1}'),
          fc.string({ unit: 'binary', maxLength: 60 }),
          fc.constant(JSON.stringify({ pad: 'x'.repeat(DEFAULT_MAX_BODY + 10) })),
        ),
      ).map(([r, b]) => post('body', r.call, typeof b === 'function' ? b(text(r.body)) : b)),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(valid, fc.nat()).map(([r, n]) => {
        const wrong = [r.call.toLowerCase(), r.call.replace('.', '/'), `${r.call}/x`, `${r.call}?x=1`, `/${r.call}`, `${r.call}.x`, 'NetworkDriver.', '.CreateNetwork', 'Foo.Bar', '', 'NetworkDriver.Nope', `VolumeDriver.${r.call.split('.')[1]}`, `${r.call}%00`, 'Plugin.Activate/x'];
        return post('path', wrong[n % wrong.length]!, text(r.body));
      }),
    },
    { weight: 1, arbitrary: fc.tuple(valid, fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH')).map(([r, method]) => shown({ origin: 'method', method, call: r.call, body: text(r.body) })) },
  );
}

/** The answer the protocol layer owes `r` by itself, or undefined when the request is for a driver to answer. */
function protocolAnswer(r: FuzzRequest): number | undefined {
  if (r.method !== 'POST') return 405;
  if (Buffer.byteLength(r.body ?? '') > DEFAULT_MAX_BODY) return 413;
  const call = r.call.split('?')[0]!;
  if (call === 'Plugin.Activate') return 200;
  const schema = SCHEMAS.get(call);
  if (!schema) return 404;
  let raw: unknown = {};
  if ((r.body ?? '').trim() !== '') {
    try {
      raw = JSON.parse(r.body!);
    } catch {
      return 400;
    }
  }
  return schema.safeParse(raw).success ? undefined : 400;
}

function otherMethod(socketPath: string, r: FuzzRequest): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method: r.method, path: `/${r.call}`, headers: { 'Content-Length': Buffer.byteLength(r.body ?? '') } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(r.body ?? '');
  });
}

describe('protocol fuzz: tsnet, tsipam and tsvol on one socket', () => {
  let dir: string;
  let serving: Serving | undefined;
  let world: World;
  const socket = () => join(dir, 'plugins', 'tsnet-fuzz.sock');
  /** Every log line of level warn or error, parsed. */
  const logged: Array<{ level: string; msg: string } & Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) logged.push(JSON.parse(line) as (typeof logged)[number]);
      done();
    },
  });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tstest-'));
    world = await makeWorld();
    serving = await serve({
      pluginsDir: join(dir, 'plugins'),
      stateDir: join(dir, 'state'),
      only: ['network', 'ipam', 'volume'],
      socket: 'tsnet-fuzz.sock',
      logLevel: 'warn',
      log: createLogger({ level: 'warn', stream: sink }),
      factories: { ...PLUGIN_FACTORIES, network: async () => fakeKernelNetwork, volume: async () => fakeHostVolume },
    });
    await serving.ready;
  });

  afterAll(async () => {
    await serving?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers every generated and mutated request with a well-formed reply, and keeps serving', async () => {
    const statuses = new Map<string, number>();
    const origins = new Map<string, number>();
    let sent = 0;
    const started = performance.now();
    await fc.assert(
      fc.asyncProperty(fc.array(requests(world), { minLength: BATCH, maxLength: BATCH }), async (batch) => {
        const errorsBefore = logged.filter((l) => l.level === 'error').length;
        const replies = await Promise.all(batch.map((r) => (r.method === 'POST' ? postRaw(socket(), r.call, r.body, 10_000) : otherMethod(socket(), r))));
        sent += batch.length;
        for (const [i, reply] of replies.entries()) {
          const r = batch[i]!;
          const shown = `${fc.stringify(r)} → ${reply.status} ${reply.text.slice(0, 300)}`;
          statuses.set(String(reply.status), (statuses.get(String(reply.status)) ?? 0) + 1);
          origins.set(r.origin, (origins.get(r.origin) ?? 0) + 1);
          const json = JSON.parse(reply.text) as unknown;
          expect(json !== null && typeof json === 'object' && !Array.isArray(json), shown).toBe(true);
          const err = (json as { Err?: unknown }).Err;
          if (reply.status === 200) expect(err, shown).toBeUndefined();
          else expect(typeof err === 'string' && err.trim() !== '', shown).toBe(true);
          const owed = protocolAnswer(r);
          if (owed !== undefined) expect(reply.status, shown).toBe(owed);
        }
        const errors = logged.filter((l) => l.level === 'error').slice(errorsBefore);
        expect(errors, 'requests logged as unexpected errors').toEqual([]);
      }),
      // No shrinking: the server's state carries over between runs, so a smaller batch rarely fails the
      // same way, and the assertion already names the one request that failed.
      { numRuns: RUNS, endOnFailure: true },
    );
    const seconds = (performance.now() - started) / 1000;
    const sorted = (m: Map<string, number>) => Object.fromEntries([...m].sort(([a], [b]) => a.localeCompare(b)));
    console.log(`protocol fuzz: ${sent} requests in ${seconds.toFixed(1)} s; by status ${JSON.stringify(sorted(statuses))}; by kind ${JSON.stringify(sorted(origins))}`);
    expect(sent).toBeGreaterThanOrEqual(10_000);

    // Still serving: activation and every plugin's readiness call.
    expect(JSON.parse((await postRaw(socket(), 'Plugin.Activate', undefined)).text)).toEqual({ Implements: ['NetworkDriver', 'IpamDriver', 'VolumeDriver'] });
    for (const call of Object.values(READY_CALL)) expect((await postRaw(socket(), call, undefined)).status, call).toBe(200);
  }, 60_000);
});
