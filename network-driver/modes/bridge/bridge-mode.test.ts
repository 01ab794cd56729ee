/**
 * Bridge mode's decisions, through the real NetworkDriver (memory store) over a recording fake kernel:
 * what it asks the kernel for, what it answers Docker, what it refuses, and that a refusal leaves
 * nothing half-made. No root.
 */
import { PassThrough } from 'node:stream';
import { beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../common/log.js';
import { ConflictError, InvalidRequestError, NotFoundError, UnsupportedError } from '../../../common/protocol/errors.js';
import { networkRequests } from '../../../common/protocol/network-api.js';
import { MemoryStore } from '../../../common/store/memory-store.js';
import { NetworkDriver } from '../../driver.js';
import type { EndpointRecord, NetworkRecord } from '../../records.js';
import { createNoneMode } from '../none/none-mode.js';
import { instanceTag } from '../shared/instance.js';
import { bridgeMacFor, createBridgeMode } from './bridge-mode.js';
import { fakeKernel, type FakeKernel } from '../testing/fake-kernel.js';
import { refusal } from '../../../testing/refusal.js';

const NID = '3f2a9c01b7e4d5f60718293a4b5c6d7e8f90112233445566778899aabbccddee';
const NID2 = '77b1e0aa'.padEnd(64, '1');
const EID = 'e1'.padEnd(64, 'a');
const EID2 = 'e2'.padEnd(64, 'b');
const TAG = 'abc123';
const MAC = bridgeMacFor(TAG);
const log = createLogger({ stream: new PassThrough() });

let k: FakeKernel;
let store: MemoryStore;
let driver: NetworkDriver;

function restart(): NetworkDriver {
  driver = new NetworkDriver({ modes: [createBridgeMode({ kernel: k, tag: TAG, log })], store, log });
  return driver;
}

beforeEach(() => {
  k = fakeKernel();
  store = new MemoryStore();
  restart();
});

interface NetOpts {
  id?: string;
  generic?: Record<string, string>;
  subnet?: string;
  v6?: string;
  internal?: boolean;
}

function createNet({ id = NID, generic = {}, subnet = '10.20.0.0/24', v6, internal }: NetOpts = {}) {
  const gw = (cidr: string) => cidr.replace(/0\/(\d+)$/, '1/$1').replace(/::\/(\d+)$/, '::1/$1');
  return driver.createNetwork(
    networkRequests.CreateNetwork.parse({
      NetworkID: id,
      Options: { 'com.docker.network.generic': generic, 'com.docker.network.enable_ipv6': v6 !== undefined, ...(internal ? { 'com.docker.network.internal': true } : {}) },
      IPv4Data: [{ AddressSpace: 'LocalDefault', Pool: subnet, Gateway: gw(subnet) }],
      IPv6Data: v6 ? [{ AddressSpace: 'LocalDefault', Pool: v6, Gateway: gw(v6) }] : [],
    }),
  );
}

function createEp(opts: { net?: string; ep?: string; address?: string; v6?: string; mac?: string } = {}) {
  return driver.createEndpoint(
    networkRequests.CreateEndpoint.parse({
      NetworkID: opts.net ?? NID,
      EndpointID: opts.ep ?? EID,
      Interface: { Address: opts.address ?? '10.20.0.5/24', AddressIPv6: opts.v6 ?? '', MacAddress: opts.mac ?? '' },
      Options: {},
    }),
  );
}

const portmap = (...b: Array<{ proto?: number; port?: number; hostIp?: string; hostPort?: number; hostPortEnd?: number }>) => ({
  'com.docker.network.portmap': b.map((x) => ({ Proto: x.proto ?? 6, IP: '', Port: x.port ?? 80, HostIP: x.hostIp ?? '', HostPort: x.hostPort ?? 0, HostPortEnd: x.hostPortEnd ?? x.hostPort ?? 0 })),
});

const join = (net = NID, ep = EID, options: Record<string, unknown> = {}) => driver.join({ NetworkID: net, EndpointID: ep, SandboxKey: '/var/run/docker/netns/x', Options: options });
const program = (options: Record<string, unknown>, net = NID, ep = EID) => driver.programExternalConnectivity({ NetworkID: net, EndpointID: ep, Options: options });
const elements = () => k.scripts.flat().filter((l) => l.includes(' element '));
const epRecord = async (net = NID, ep = EID) => (await store.collection<EndpointRecord>('endpoints').get(`${net}/${ep}`))!;

describe('options', () => {
  it('accepts Docker’s names and the short forms, storing Docker’s', async () => {
    await createNet({ generic: { icc: 'false', 'com.docker.network.bridge.enable_ip_masquerade': '0', mtu: '1300', bridge_name: 'br-app', host_ip: '127.0.0.1', iface_prefix: 'ens' } });
    const rec = (await store.collection<NetworkRecord>('networks').get(NID))!;
    expect(rec.options).toEqual({
      'com.docker.network.bridge.enable_icc': 'false',
      'com.docker.network.bridge.enable_ip_masquerade': 'false',
      'com.docker.network.driver.mtu': '1300',
      'com.docker.network.bridge.name': 'br-app',
      'com.docker.network.bridge.host_binding_ipv4': '127.0.0.1',
      'com.docker.network.container_iface_prefix': 'ens',
    });
  });

  it('refuses unknown options naming the valid ones, and bad values, before touching the kernel', async () => {
    await expect(createNet({ generic: { colour: 'blue' } })).rejects.toThrow(refusal('ERR_INVALID_REQUEST', /unknown option "colour" for mode bridge; valid options: com\.docker\.network\.bridge\.name \(or bridge_name\); .*com\.docker\.network\.driver\.mtu \(or mtu\)/));
    await expect(createNet({ generic: { mtu: '70000' } })).rejects.toThrow(refusal('ERR_INVALID_REQUEST', 'option "mtu" must be a whole number from 68 to 65535, got "70000"'));
    await expect(createNet({ generic: { 'com.docker.network.driver.mtu': 'big' } })).rejects.toBeInstanceOf(InvalidRequestError);
    await expect(createNet({ generic: { mtu: '1000' }, v6: 'fd00::/64' })).rejects.toThrow(refusal('ERR_INVALID_REQUEST', 'too small for IPv6'));
    await expect(createNet({ generic: { ipv6: 'true' } })).rejects.toThrow(refusal('ERR_INVALID_REQUEST', 'needs an IPv6 pool'));
    expect(k.calls).toEqual([]);
  });
});

describe('networks', () => {
  it('makes a bridge named from the ID, at the uplink’s MTU, with the gateway, sysctls and firewall', async () => {
    await createNet();
    expect(k.links.get('tsbr-3f2a9c01b7')).toMatchObject({ kind: 'bridge', mtu: 1400, mac: MAC });
    expect(k.addresses.get('tsbr-3f2a9c01b7')).toEqual(['10.20.0.1/24']);
    expect(Object.fromEntries(k.sysctls)).toEqual({ 'net.ipv4.ip_forward': '1', 'net/ipv4/conf/tsbr-3f2a9c01b7/route_localnet': '1' });
    expect(k.chains).toEqual(new Set(['4/TSNET-BR-abc123', '6/TSNET-BR-abc123']));
    expect(k.scripts).toHaveLength(1);
    expect(k.scripts[0]![0]).toBe('add table inet tsnet-abc123');
    expect(elements()).toEqual([
      'add element inet tsnet-abc123 bridges { "tsbr-3f2a9c01b7" }',
      'add element inet tsnet-abc123 icc { "tsbr-3f2a9c01b7" . "tsbr-3f2a9c01b7" }',
      'add element inet tsnet-abc123 masq { "tsbr-3f2a9c01b7" }',
    ]);
  });

  it('adds a second network with one small transaction and no iptables work', async () => {
    await createNet();
    const before = k.calls.length;
    await createNet({ id: NID2, subnet: '10.21.0.0/24', generic: { icc: 'false' }, v6: 'fd00:1::/64' });
    const calls = k.calls.slice(before);
    expect(calls.filter((c) => c.startsWith('applyChains'))).toEqual([]);
    expect(calls.filter((c) => c.startsWith('nft'))).toHaveLength(1);
    expect(k.addresses.get('tsbr-77b1e0aa11')).toEqual(['10.21.0.1/24', 'fd00:1::1/64']);
    expect(k.sysctls.get('net.bridge.bridge-nf-call-iptables')).toBe('1');
    expect(k.sysctls.get('net.bridge.bridge-nf-call-ip6tables')).toBe('1');
    expect(k.sysctls.get('net.ipv6.conf.all.forwarding')).toBe('1');
  });

  it('keeps an internal network off the forwarding sysctls, masquerade and loopback routing', async () => {
    await createNet({ internal: true });
    expect(k.sysctls.size).toBe(0);
    expect(elements()).toEqual(['add element inet tsnet-abc123 bridges { "tsbr-3f2a9c01b7" }', expect.stringContaining('internal'), expect.stringContaining(' icc ')]);
  });

  it('leaves the gateway off the bridge with inhibit_ipv4', async () => {
    await createNet({ generic: { inhibit_ipv4: 'true' } });
    expect(k.addresses.get('tsbr-3f2a9c01b7')).toBeUndefined();
  });

  it('refuses a bridge name another network uses, or that a link not ours has, and makes nothing', async () => {
    await createNet({ generic: { bridge_name: 'tsbr-shared' } });
    const before = k.calls.length;
    await expect(createNet({ id: NID2, generic: { bridge_name: 'tsbr-shared' } })).rejects.toThrow(refusal('ERR_CONFLICT', 'bridge name "tsbr-shared" is already used by network 3f2a9c01b7e4'));
    expect(k.calls.slice(before)).toEqual([]);
    k.links.set('docker0', { name: 'docker0', index: 3, kind: 'bridge', mtu: 1500, mac: '02:42:00:00:00:01', up: true });
    await expect(createNet({ id: NID2, generic: { bridge_name: 'docker0' } })).rejects.toThrow(refusal('ERR_CONFLICT', 'the host already has a bridge that tsnet did not make of that name'));
    await expect(createNet({ id: NID2, generic: { bridge_name: 'eth0' } })).rejects.toThrow(refusal('ERR_CONFLICT', 'a device interface'));
    expect(k.calls.slice(before).filter((c) => !c.startsWith('findLink'))).toEqual([]);
    expect(await store.collection('networks').get(NID2)).toBeUndefined();
    // The name was not kept by the refused creates.
    await createNet({ id: NID2, generic: { bridge_name: 'br-free' } });
  });

  it('undoes what it made when a later step fails', async () => {
    k.failOn.add('nft');
    await expect(createNet()).rejects.toThrow('add the network to the firewall: fake kernel: nft fails');
    expect(k.links.has('tsbr-3f2a9c01b7')).toBe(false);
    expect(await store.collection('networks').get(NID)).toBeUndefined();
    k.failOn.clear();
    await createNet();
    expect(k.links.has('tsbr-3f2a9c01b7')).toBe(true);
  });

  it('says what is missing when ICC off cannot be enforced (no br_netfilter), and makes nothing', async () => {
    k.failOn.add('ensureSysctl net.bridge');
    const err = await createNet({ generic: { icc: 'false' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedError);
    expect((err as Error).message).toContain('ICC off needs the br_netfilter kernel module');
    expect(k.links.has('tsbr-3f2a9c01b7')).toBe(false);
  });

  it('adopts a bridge of its own left by a crash, and re-creating is idempotent', async () => {
    k.links.set('tsbr-3f2a9c01b7', { name: 'tsbr-3f2a9c01b7', index: 9, kind: 'bridge', mtu: 1500, mac: MAC, up: true });
    await createNet();
    await createNet();
    expect(k.links.get('tsbr-3f2a9c01b7')!.mtu).toBe(1400);
  });

  it('removes the firewall entry and bridge; the last network takes the table and chain with it', async () => {
    await createNet();
    await createNet({ id: NID2, subnet: '10.21.0.0/24' });
    await driver.deleteNetwork({ NetworkID: NID2 });
    expect(k.scripts.at(-1)!.every((l) => l.includes('tsbr-77b1e0aa11'))).toBe(true);
    expect(k.chains.size).toBe(2);
    await driver.deleteNetwork({ NetworkID: NID });
    expect(k.scripts.at(-1)).toEqual(['add table inet tsnet-abc123', 'delete table inet tsnet-abc123']);
    expect(k.chains.size).toBe(0);
    expect([...k.links.keys()]).toEqual(['eth0']);
  });
});

describe('endpoints', () => {
  beforeEach(async () => {
    await createNet({ v6: 'fd00:1::/64' });
  });

  it('derives the MAC from the IPv4 address unless Docker gave one', async () => {
    expect(await createEp()).toEqual({ Interface: { MacAddress: '02:42:0a:14:00:05' } });
    expect(await createEp({ ep: EID2, mac: '02:00:00:00:00:99' })).toEqual({});
  });

  it('joins with a veth at the bridge’s MTU, hairpin on, and answers the gateways', async () => {
    await createEp({ v6: 'fd00:1::5/64' });
    const joined = await join();
    expect(joined).toEqual({ InterfaceName: { SrcName: 'tsce1aaaaaaaaaa', DstPrefix: 'eth' }, Gateway: '10.20.0.1', GatewayIPv6: 'fd00:1::1' });
    expect(k.links.get('tsve1aaaaaaaaaa')).toMatchObject({ kind: 'veth', mtu: 1400, master: 'tsbr-3f2a9c01b7' });
    expect(k.calls).toContain('ensureVethPair tsve1aaaaaaaaaa tsce1aaaaaaaaaa {"mtu":1400,"master":"tsbr-3f2a9c01b7","peerMac":"02:42:0a:14:00:05"}');
    expect(k.calls).toContain('setHairpin tsve1aaaaaaaaaa true');
    expect(await driver.endpointOperInfo({ NetworkID: NID, EndpointID: EID })).toEqual({
      Value: { mode: 'bridge', bridge: 'tsbr-3f2a9c01b7', hostInterface: 'tsve1aaaaaaaaaa', mtu: 1400, mac: '02:42:0a:14:00:05', ports: [] },
    });
  });

  it('leaves the veth in place on Leave and deletes it on DeleteEndpoint', async () => {
    await createEp();
    await join();
    await driver.leave({ NetworkID: NID, EndpointID: EID });
    expect(k.links.has('tsve1aaaaaaaaaa')).toBe(true);
    await driver.deleteEndpoint({ NetworkID: NID, EndpointID: EID });
    expect(k.links.has('tsve1aaaaaaaaaa')).toBe(false);
    await driver.deleteEndpoint({ NetworkID: NID, EndpointID: EID });
  });

  it('routes an endpoint through the gateway of its own subnet when the network has several', async () => {
    await driver.createNetwork(
      networkRequests.CreateNetwork.parse({
        NetworkID: NID2,
        Options: {},
        IPv4Data: [
          { Pool: '10.30.0.0/24', Gateway: '10.30.0.1/24' },
          { Pool: '10.31.0.0/24', Gateway: '10.31.0.254/24' },
        ],
      }),
    );
    expect(k.addresses.get('tsbr-77b1e0aa11')).toEqual(['10.30.0.1/24', '10.31.0.254/24']);
    await createEp({ net: NID2, address: '10.31.0.7/24' });
    expect((await join(NID2)).Gateway).toBe('10.31.0.254');
  });

  it('uses the container interface prefix option', async () => {
    await createNet({ id: NID2, subnet: '10.21.0.0/24', generic: { 'com.docker.network.container_iface_prefix': 'lan' } });
    await createEp({ net: NID2, address: '10.21.0.5/24' });
    expect((await join(NID2)).InterfaceName).toEqual({ SrcName: 'tsce1aaaaaaaaaa', DstPrefix: 'lan' });
  });
});

describe('internal networks', () => {
  beforeEach(async () => {
    await createNet({ internal: true });
    await createEp();
  });

  it('give no gateway and opt out of docker_gwbridge', async () => {
    expect(await join()).toEqual({ InterfaceName: { SrcName: 'tsce1aaaaaaaaaa', DstPrefix: 'eth' }, DisableGatewayService: true });
    expect(k.calls.some((c) => c.startsWith('setHairpin'))).toBe(false);
  });

  it('refuse -p at Join and at ProgramExternalConnectivity, making nothing', async () => {
    await expect(join(NID, EID, portmap({ hostPort: 8080 }))).rejects.toThrow(refusal('ERR_INVALID_REQUEST', /network 3f2a9c01b7e4 is internal .* ports cannot be published/));
    expect(k.links.has('tsve1aaaaaaaaaa')).toBe(false);
    await expect(program(portmap({ hostPort: 8080 }))).rejects.toBeInstanceOf(InvalidRequestError);
    expect(elements().some((l) => l.includes('pub4'))).toBe(false);
  });
});

describe('ports', () => {
  beforeEach(async () => {
    await createNet({ v6: 'fd00:1::/64' });
    await createEp({ v6: 'fd00:1::5/64' });
    await join();
  });

  it('publishes -p 8080:80 on both families, 127.0.0.1 on IPv4 only, udp, and reports them', async () => {
    await program(portmap({ hostPort: 8080 }, { hostPort: 8081, hostIp: '127.0.0.1' }, { proto: 17, port: 53, hostPort: 5353 }));
    expect(k.scripts.at(-1)).toEqual([
      'add element inet tsnet-abc123 pub4_any { tcp . 8080 : 10.20.0.5 . 80 }',
      'add element inet tsnet-abc123 pub6_any { tcp . 8080 : fd00:1::5 . 80 }',
      'add element inet tsnet-abc123 pub4_ip { 127.0.0.1 . tcp . 8081 : 10.20.0.5 . 80 }',
      'add element inet tsnet-abc123 pub4_any { udp . 5353 : 10.20.0.5 . 53 }',
      'add element inet tsnet-abc123 pub6_any { udp . 5353 : fd00:1::5 . 53 }',
    ]);
    const info = await driver.endpointOperInfo({ NetworkID: NID, EndpointID: EID });
    expect((info.Value as Record<string, unknown>)['ports']).toEqual(['0.0.0.0:8080->80/tcp', '[::]:8080->80/tcp', '127.0.0.1:8081->80/tcp', '0.0.0.0:5353->53/udp', '[::]:5353->53/udp']);
  });

  it('refuses a port another network publishes, naming it, and publishes nothing', async () => {
    await program(portmap({ hostPort: 8080 }));
    await createNet({ id: NID2, subnet: '10.21.0.0/24' });
    await createEp({ net: NID2, ep: EID2, address: '10.21.0.5/24' });
    const scripts = k.scripts.length;
    await expect(program(portmap({ hostPort: 8080, hostIp: '127.0.0.1' }), NID2, EID2)).rejects.toThrow(
      refusal('ERR_CONFLICT', 'cannot publish port 80/tcp: host port 127.0.0.1:8080/tcp is already published by network 3f2a9c01b7e4 (endpoint e1aaaaaaaaaa)'),
    );
    expect(k.scripts.length).toBe(scripts);
    expect((await epRecord(NID2, EID2)).state['ports']).toBeUndefined();
    // A different port, or the same port on another protocol, is fine.
    await program(portmap({ hostPort: 8080, proto: 17 }), NID2, EID2);
  });

  it('refuses a port a host process listens on, and takes the next free one of a range', async () => {
    k.busyPorts.add('4/tcp/8080');
    await expect(program(portmap({ hostPort: 8080 }))).rejects.toThrow(refusal('ERR_CONFLICT', 'host port 0.0.0.0:8080/tcp is in use by a process on the host'));
    await program(portmap({ hostPort: 8080, hostPortEnd: 8082 }));
    expect(k.scripts.at(-1)![0]).toBe('add element inet tsnet-abc123 pub4_any { tcp . 8081 : 10.20.0.5 . 80 }');
  });

  it('says so when no port of a range is free', async () => {
    k.busyPorts.add('4/tcp/8080').add('4/tcp/8081');
    await expect(program(portmap({ hostPort: 8080, hostPortEnd: 8081 }))).rejects.toThrow(refusal('ERR_CONFLICT', '(no free port in 8080-8081)'));
  });

  it('picks an ephemeral port for -p 80, and uses host_binding_ipv4 when a binding has no address', async () => {
    await createNet({ id: NID2, subnet: '10.21.0.0/24', generic: { host_binding_ipv4: '127.0.0.1' } });
    await createEp({ net: NID2, ep: EID2, address: '10.21.0.5/24' });
    await program(portmap({}), NID2, EID2);
    expect(k.scripts.at(-1)).toEqual(['add element inet tsnet-abc123 pub4_ip { 127.0.0.1 . tcp . 49153 : 10.21.0.5 . 80 }']);
  });

  it('is idempotent, and Revoke / DeleteEndpoint unpublish and free the port', async () => {
    await program(portmap({ hostPort: 8080 }));
    await program(portmap({ hostPort: 8080 }));
    expect((await epRecord()).state['ports']).toHaveLength(2);
    await driver.revokeExternalConnectivity({ NetworkID: NID, EndpointID: EID });
    expect(k.scripts.at(-1)).toContain('delete element inet tsnet-abc123 pub4_any { tcp . 8080 }');
    expect((await epRecord()).state['ports']).toBeUndefined();
    await program(portmap({ hostPort: 8080 }));
    await driver.deleteEndpoint({ NetworkID: NID, EndpointID: EID });
    expect(k.scripts.at(-1)).toContain('delete element inet tsnet-abc123 pub6_any { tcp . 8080 }');
    await createNet({ id: NID2, subnet: '10.21.0.0/24' });
    await createEp({ net: NID2, ep: EID2, address: '10.21.0.5/24' });
    await program(portmap({ hostPort: 8080 }), NID2, EID2);
  });

  it('refuses a host address the container has no family for', async () => {
    await createNet({ id: NID2, subnet: '10.21.0.0/24' });
    await createEp({ net: NID2, ep: EID2, address: '10.21.0.5/24' });
    await expect(program(portmap({ hostPort: 8080, hostIp: '::' }), NID2, EID2)).rejects.toThrow(refusal('ERR_INVALID_REQUEST', 'the container has no IPv6 address'));
  });
});

describe('external connectivity through the driver', () => {
  it('refuses ProgramExternalConnectivity for an endpoint it does not have, and answers {} for modes that publish nothing', async () => {
    await createNet();
    await expect(program(portmap({ hostPort: 8080 }))).rejects.toBeInstanceOf(NotFoundError);
    const none = new NetworkDriver({ modes: [createNoneMode()], store: new MemoryStore(), log });
    await none.createNetwork(networkRequests.CreateNetwork.parse({ NetworkID: NID2, Options: { 'com.docker.network.generic': { mode: 'none' } } }));
    await none.createEndpoint(networkRequests.CreateEndpoint.parse({ NetworkID: NID2, EndpointID: EID, Interface: null, Options: {} }));
    expect(await none.programExternalConnectivity({ NetworkID: NID2, EndpointID: EID, Options: portmap({ hostPort: 8080 }) })).toEqual({});
    expect(await none.revokeExternalConnectivity({ NetworkID: NID2, EndpointID: EID })).toEqual({});
  });

  it('writes the endpoint record only when publishing changed it', async () => {
    await createNet();
    await createEp();
    await join();
    let writes = 0;
    const batch = store.batch.bind(store);
    store.batch = (ops) => ((writes += ops.length), batch(ops));
    await program({});
    await driver.revokeExternalConnectivity({ NetworkID: NID, EndpointID: EID });
    expect(writes).toBe(0);
    await program(portmap({ hostPort: 8080 }));
    expect(writes).toBe(1);
  });
});

describe('restore', () => {
  it('removes its own leftovers only, re-attaches joined endpoints and rebuilds the firewall whole', async () => {
    await createNet();
    await createEp();
    await join();
    await program(portmap({ hostPort: 8080 }));
    // Leftovers: a bridge and a port of ours without records; a bridge of another instance; a stray port.
    k.links.set('tsbr-deadbeef00', { name: 'tsbr-deadbeef00', index: 50, kind: 'bridge', mtu: 1400, mac: MAC, up: true });
    k.links.set('tsvdeadbeef0000', { name: 'tsvdeadbeef0000', index: 51, kind: 'veth', mtu: 1400, mac: '0a:00:00:00:00:02', up: true, master: 'tsbr-deadbeef00' });
    k.links.set('tsvcafe00000000', { name: 'tsvcafe00000000', index: 52, kind: 'veth', mtu: 1400, mac: '0a:00:00:00:00:03', up: true, master: 'tsbr-3f2a9c01b7' });
    k.links.set('tsbr-other00000', { name: 'tsbr-other00000', index: 53, kind: 'bridge', mtu: 1400, mac: bridgeMacFor('999999'), up: true });
    k.links.get('tsve1aaaaaaaaaa')!.master = undefined;
    k.calls.length = 0;
    await restart().restore();
    expect(k.calls.filter((c) => c.startsWith('deleteLink'))).toEqual(['deleteLink tsvcafe00000000', 'deleteLink tsvdeadbeef0000', 'deleteLink tsbr-deadbeef00']);
    expect(k.links.has('tsbr-other00000')).toBe(true);
    expect(k.calls).toContain('setMaster tsve1aaaaaaaaaa tsbr-3f2a9c01b7');
    const rebuild = k.scripts.at(-1)!;
    expect(rebuild.slice(0, 2)).toEqual(['add table inet tsnet-abc123', 'delete table inet tsnet-abc123']);
    expect(rebuild).toContain('add element inet tsnet-abc123 pub4_any { tcp . 8080 : 10.20.0.5 . 80 }');
    // The port table came back from the store: another endpoint cannot take 8080.
    await createEp({ ep: EID2, address: '10.20.0.6/24' });
    await expect(program(portmap({ hostPort: 8080 }), NID, EID2)).rejects.toBeInstanceOf(ConflictError);
  });

  it('with no networks, removes the table and chain of this instance', async () => {
    await restart().restore();
    expect(k.scripts).toEqual([['add table inet tsnet-abc123', 'delete table inet tsnet-abc123']]);
    expect(k.calls.filter((c) => c.startsWith('deleteChains'))).toEqual(['deleteChains TSNET-BR-abc123 4', 'deleteChains TSNET-BR-abc123 6']);
  });
});

describe('bridge MAC', () => {
  it('is locally administered "ts" plus the instance tag', () => {
    expect(bridgeMacFor('abc123')).toBe('02:74:73:ab:c1:23');
    expect(bridgeMacFor(instanceTag('/x'))).toMatch(/^02:74:73(:[0-9a-f]{2}){3}$/);
  });
});
