/**
 * Driver logic with a recording fake mode and the in-memory store: persistence, idempotency, rollback
 * and the rules Docker imposes on answers. No kernel, no root.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../common/log.js';
import { ConflictError, InvalidRequestError, NotFoundError, UnsupportedError } from '../common/protocol/errors.js';
import { networkRequests } from '../common/protocol/network-api.js';
import { MemoryStore } from '../common/store/memory-store.js';
import { NetworkDriver } from './driver.js';
import type { NetworkMode } from './modes/mode.js';
import type { EndpointRecord, NetworkRecord } from './records.js';
import { PassThrough } from 'node:stream';

const NID = 'a'.repeat(64);
const EID = 'b'.repeat(64);

interface FakeMode extends NetworkMode<{ v: 1; colour: string }> {
  calls: string[];
  /** How many times the mode parsed a network's config. */
  configured: number;
  failOn?: string;
  restored?: { nets: NetworkRecord<{ v: 1; colour: string }>[]; eps: EndpointRecord[] };
}

function fakeMode(name = 'fake'): FakeMode {
  const m: FakeMode = {
    name,
    optionNames: ['colour'],
    calls: [],
    configured: 0,
    configure(net) {
      m.configured++;
      return { v: 1, colour: net.options.colour ?? 'red' };
    },
    parseOptions(generic) {
      const { colour = 'red', ...rest } = generic;
      if (Object.keys(rest).length > 0) throw new InvalidRequestError(`unknown option "${Object.keys(rest)[0]}" for mode ${name}`);
      return { colour };
    },
    async createNetwork(net) {
      m.calls.push(`createNetwork ${net.id.slice(0, 4)}`);
      if (m.failOn === 'createNetwork') throw new Error('kernel says no');
    },
    async deleteNetwork(net) {
      m.calls.push(`deleteNetwork ${net.id.slice(0, 4)}`);
    },
    async createEndpoint(_net, ep) {
      m.calls.push(`createEndpoint ${ep.id.slice(0, 4)}`);
      return { mac: '02:00:00:00:00:01', state: { hostIface: 'tsvfake' } };
    },
    async deleteEndpoint(_net, ep) {
      m.calls.push(`deleteEndpoint ${ep.id.slice(0, 4)}`);
    },
    async join(_net, ep) {
      m.calls.push(`join ${ep.id.slice(0, 4)} ${ep.sandboxKey}`);
      return { response: { InterfaceName: { SrcName: 'tsvfakec', DstPrefix: 'eth' }, Gateway: '10.20.0.1' }, state: { ...ep.state, joined: true } };
    },
    async leave(_net, ep) {
      m.calls.push(`leave ${ep.id.slice(0, 4)}`);
    },
    operInfo: (_net, ep) => ({ hostIface: ep.state.hostIface }),
    async restore(nets, eps) {
      m.restored = { nets, eps };
    },
  };
  return m;
}

const createReq = (generic: Record<string, string> = { mode: 'fake' }, id = NID) =>
  networkRequests.CreateNetwork.parse({
    NetworkID: id,
    Options: { 'com.docker.network.generic': generic, 'com.docker.network.enable_ipv6': false },
    IPv4Data: [{ AddressSpace: 'LocalDefault', Pool: '10.20.0.0/24', Gateway: '10.20.0.1/24' }],
  });

const endpointReq = (mac = '') =>
  networkRequests.CreateEndpoint.parse({ NetworkID: NID, EndpointID: EID, Interface: { Address: '10.20.0.5/24', AddressIPv6: '', MacAddress: mac } });

/** The message of the error `p` rejects with, after checking its class. */
async function rejection(p: Promise<unknown>, cls: new (...args: never[]) => Error): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(cls);
  return (err as Error).message;
}

let store: MemoryStore;
let mode: FakeMode;
let driver: NetworkDriver;
const log = createLogger({ stream: new PassThrough() });

beforeEach(() => {
  store = new MemoryStore();
  mode = fakeMode();
  driver = new NetworkDriver({ modes: [mode], store, log });
});

describe('networks', () => {
  it('persists a created network with its parsed options and IPAM data', async () => {
    await driver.createNetwork(createReq({ mode: 'fake', colour: 'blue' }));
    const rec = await store.collection<NetworkRecord>('networks').get(NID);
    expect(rec).toMatchObject({ v: 2, id: NID, mode: 'fake', options: { colour: 'blue' }, config: { v: 1, colour: 'blue' }, internal: false, enableIpv6: false });
    expect(rec!.ipv4).toEqual([{ AddressSpace: 'LocalDefault', Pool: '10.20.0.0/24', Gateway: '10.20.0.1/24', AuxAddresses: {} }]);
    expect(mode.calls).toEqual([`createNetwork aaaa`]);
  });

  it('treats a repeated create as a re-ensure, not an error', async () => {
    await driver.createNetwork(createReq());
    await driver.createNetwork(createReq());
    expect(mode.calls).toEqual(['createNetwork aaaa', 'createNetwork aaaa']);
  });

  it('parses a network\'s config once (at CreateNetwork), whatever comes after, and hands the stored one to the mode', async () => {
    await driver.createNetwork(createReq({ mode: 'fake', colour: 'blue' }));
    await driver.createNetwork(createReq({ mode: 'fake', colour: 'blue' }));
    await driver.createEndpoint(endpointReq());
    await driver.join(networkRequests.Join.parse({ NetworkID: NID, EndpointID: EID, SandboxKey: '/var/run/docker/netns/abc', Options: {} }));
    await driver.endpointOperInfo({ NetworkID: NID, EndpointID: EID });
    await driver.leave({ NetworkID: NID, EndpointID: EID });
    await driver.deleteEndpoint({ NetworkID: NID, EndpointID: EID });
    await driver.restore();
    expect(mode.restored!.nets.map((n) => n.config)).toEqual([{ v: 1, colour: 'blue' }]);
    await driver.deleteNetwork({ NetworkID: NID });
    expect(mode.configured).toBe(1);
  });

  it('refuses unknown modes and bad options before touching anything', async () => {
    // The messages are the Err a Docker user reads.
    expect(await rejection(driver.createNetwork(createReq({ mode: 'bridge' })), InvalidRequestError)).toBe('unknown mode "bridge" (available: fake)');
    expect(await rejection(driver.createNetwork(createReq({ mode: 'fake', size: '3' })), InvalidRequestError)).toBe('unknown option "size" for mode fake');
    expect(mode.calls).toEqual([]);
    expect(await store.collection('networks').entries()).toEqual([]);
  });

  it('uses bridge when no mode is given', async () => {
    expect(await rejection(driver.createNetwork(createReq({})), InvalidRequestError)).toMatch(/^unknown mode "bridge"/);
  });

  it('stores nothing when the mode fails', async () => {
    mode.failOn = 'createNetwork';
    await expect(driver.createNetwork(createReq())).rejects.toThrow('kernel says no');
    expect(await store.collection('networks').entries()).toEqual([]);
  });

  it('deletes idempotently, taking stale endpoints with it', async () => {
    await driver.createNetwork(createReq());
    await driver.createEndpoint(endpointReq());
    await driver.deleteNetwork({ NetworkID: NID });
    await driver.deleteNetwork({ NetworkID: NID });
    expect(mode.calls).toEqual(['createNetwork aaaa', 'createEndpoint bbbb', 'deleteEndpoint bbbb', 'deleteNetwork aaaa']);
    expect(await store.collection('endpoints').entries()).toEqual([]);
  });

  it('answers swarm-only calls with a clear refusal', async () => {
    await expect(driver.allocateNetwork()).rejects.toBeInstanceOf(UnsupportedError);
    expect(await driver.getCapabilities()).toEqual({ Scope: 'local', ConnectivityScope: 'local', GwAllocChecker: false });
  });

  it('reads booleans Docker sends as strings, and refuses garbage', async () => {
    const req = createReq();
    req.Options['com.docker.network.internal'] = 'true';
    await driver.createNetwork(req);
    expect((await store.collection<NetworkRecord>('networks').get(NID))!.internal).toBe(true);
    const bad = createReq(undefined, 'c'.repeat(64));
    bad.Options['com.docker.network.internal'] = 'maybe';
    expect(await rejection(driver.createNetwork(bad), InvalidRequestError)).toBe('option com.docker.network.internal must be true or false, got "maybe"');
  });
});

describe('endpoints', () => {
  beforeEach(async () => {
    await driver.createNetwork(createReq());
  });

  it('fills the MAC only when Docker left it empty', async () => {
    expect(await driver.createEndpoint(endpointReq())).toEqual({ Interface: { MacAddress: '02:00:00:00:00:01' } });
    await driver.deleteEndpoint({ NetworkID: NID, EndpointID: EID });
    expect(await driver.createEndpoint(endpointReq('02:42:0a:14:00:05'))).toEqual({});
    expect((await store.collection<EndpointRecord>('endpoints').get(`${NID}/${EID}`))!.mac).toBe('02:42:0a:14:00:05');
  });

  it('answers a repeated CreateEndpoint with the same result', async () => {
    const first = await driver.createEndpoint(endpointReq());
    expect(await driver.createEndpoint(endpointReq())).toEqual(first);
    expect(mode.calls.filter((c) => c.startsWith('createEndpoint'))).toHaveLength(1);
  });

  it('refuses endpoints on unknown networks', async () => {
    const req = { ...endpointReq(), NetworkID: 'f'.repeat(64) };
    expect(await rejection(driver.createEndpoint(req), NotFoundError)).toBe('network ffffffffffff not found (tsnet has no record of it)');
  });

  it('joins, records the sandbox, and leaves idempotently', async () => {
    await driver.createEndpoint(endpointReq());
    const joined = await driver.join({ NetworkID: NID, EndpointID: EID, SandboxKey: '/var/run/docker/netns/abc', Options: {} });
    expect(joined).toEqual({ InterfaceName: { SrcName: 'tsvfakec', DstPrefix: 'eth' }, Gateway: '10.20.0.1' });
    const rec = await store.collection<EndpointRecord>('endpoints').get(`${NID}/${EID}`);
    expect(rec).toMatchObject({ sandboxKey: '/var/run/docker/netns/abc', state: { hostIface: 'tsvfake', joined: true } });
    expect(await driver.endpointOperInfo({ NetworkID: NID, EndpointID: EID })).toEqual({ Value: { mode: 'fake', hostIface: 'tsvfake' } });
    await driver.leave({ NetworkID: NID, EndpointID: EID });
    await driver.leave({ NetworkID: NID, EndpointID: EID });
    await driver.leave({ NetworkID: 'f'.repeat(64), EndpointID: EID });
    expect((await store.collection<EndpointRecord>('endpoints').get(`${NID}/${EID}`))!.sandboxKey).toBeUndefined();
    expect(mode.calls.filter((c) => c.startsWith('leave'))).toHaveLength(2);
  });

  it('refuses to join an endpoint it never created', async () => {
    await expect(driver.join({ NetworkID: NID, EndpointID: EID, SandboxKey: '/x', Options: {} })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('serialises concurrent calls on one network', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => String(i).padStart(4, '0') + 'e'.repeat(60));
    await Promise.all(ids.map((id) => driver.createEndpoint({ ...endpointReq(), EndpointID: id })));
    expect(await store.collection('endpoints').entries(`${NID}/`)).toHaveLength(20);
  });
});

describe('restore', () => {
  it('hands each mode its networks and endpoints, dropping endpoints of unknown networks', async () => {
    await driver.createNetwork(createReq());
    await driver.createEndpoint(endpointReq());
    await store.collection<EndpointRecord>('endpoints').put(`${'9'.repeat(64)}/x`, { v: 1, networkId: '9'.repeat(64), id: 'x', address: '', addressIpv6: '', mac: '', state: {} });
    const other = fakeMode('other');
    const restarted = new NetworkDriver({ modes: [mode, other], store, log });
    await restarted.restore();
    expect(mode.restored!.nets.map((n) => n.id)).toEqual([NID]);
    expect(mode.restored!.eps.map((e) => e.id)).toEqual([EID]);
    expect(other.restored).toEqual({ nets: [], eps: [] });
    expect((await store.collection('endpoints').entries()).map(([k]) => k)).toEqual([`${NID}/${EID}`]);
  });

  it('refuses a network stored with a mode this build lacks, clearly', async () => {
    await driver.createNetwork(createReq());
    const without = new NetworkDriver({ modes: [fakeMode('other')], store, log });
    expect(await rejection(without.createEndpoint(endpointReq()), UnsupportedError)).toBe('network aaaaaaaaaaaa uses mode fake, which this build does not have');
  });

  it('conflicts when the same ID comes back with another mode', async () => {
    const two = new NetworkDriver({ modes: [mode, fakeMode('other')], store, log });
    await two.createNetwork(createReq());
    await expect(two.createNetwork(createReq({ mode: 'other' }))).rejects.toBeInstanceOf(ConflictError);
  });
});
