/**
 * Encrypted overlays without a kernel or etcd: the options, the MTU, the refusal on a kernel without
 * ESP, the key ring's rolling and pruning, the SPIs both ends compute alone, and the order of xfrm
 * changes; through the real NetworkDriver (memory store) over the recording fake kernel where a
 * network is made. The cluster side (rings in etcd, rekey, hosts leaving) is in
 * encryption-sync.root.test.ts. No root.
 */
import { PassThrough } from 'node:stream';
import { beforeEach, describe, expect, it } from 'vitest';
import { REQID_BASE, isOurReqid, type XfrmChange } from '../../../common/kernel/xfrm.js';
import { createLogger } from '../../../common/log.js';
import { InvalidRequestError } from '../../../common/protocol/errors.js';
import { networkRequests } from '../../../common/protocol/network-api.js';
import { MemoryStore } from '../../../common/store/memory-store.js';
import { NetworkDriver } from '../../driver.js';
import { fakeKernel, type FakeKernel } from '../testing/fake-kernel.js';
import { definitionDifferences, type NetworkDefinition } from './cluster.js';
import { activeKey, desiredXfrm, KEY_GRACE_MS, KEY_LEAD_MS, newKey, pruned, reqidOf, rolled, spiOf, xfrmChanges, type KeyRing } from './encryption.js';
import { configureOverlay, DEFAULT_REKEY_BYTES, DEFAULT_REKEY_SECONDS, ENCRYPTED_PORT_BASE, parseOverlayOptions } from './options.js';
import { createOverlayMode } from './overlay-mode.js';
import { refusal } from '../../../testing/refusal.js';

const NID = '3f2a9c01b7e4d5f60718293a4b5c6d7e8f90112233445566778899aabbccddee';
const log = createLogger({ stream: new PassThrough() });

describe('options', () => {
  it('takes encrypted as Docker sends it (`--opt encrypted` has an empty value) and as a boolean', () => {
    expect(parseOverlayOptions({ vni: '7', encrypted: '' }).encrypted).toBe('true');
    expect(parseOverlayOptions({ vni: '7', encrypted: '1' }).encrypted).toBe('true');
    expect(parseOverlayOptions({ vni: '7', encrypted: 'false' }).encrypted).toBe('false');
    expect(() => parseOverlayOptions({ vni: '7', encrypted: 'yes' })).toThrow(refusal('ERR_INVALID_REQUEST', /option "encrypted" must be true or false/));
  });
  it('refuses rekey settings on a cleartext overlay, and out-of-range ones, naming the option', () => {
    expect(() => parseOverlayOptions({ vni: '7', rekey_interval: '600' })).toThrow(refusal('ERR_INVALID_REQUEST', /"rekey_interval" and "rekey_bytes" need -o encrypted=true/));
    expect(() => parseOverlayOptions({ vni: '7', encrypted: 'true', rekey_interval: '5' })).toThrow(refusal('ERR_INVALID_REQUEST', /option "rekey_interval" must be a whole number from 60/));
    expect(() => parseOverlayOptions({ vni: '7', encrypted: 'true', rekey_bytes: '1000' })).toThrow(InvalidRequestError);
  });
  it('gives an encrypted overlay a port of its own from its VNI, and the default rekey settings', () => {
    const facts = (options: Record<string, string>) => ({ id: NID, options: parseOverlayOptions(options), ipv4: [], ipv6: [] }) as unknown as Parameters<typeof configureOverlay>[0];
    const enc = configureOverlay(facts({ vni: '1030', encrypted: 'true' }));
    expect(enc.port).toBe(ENCRYPTED_PORT_BASE + 6);
    expect(enc.encryption).toEqual({ rekeySeconds: DEFAULT_REKEY_SECONDS, rekeyBytes: DEFAULT_REKEY_BYTES });
    expect(configureOverlay(facts({ vni: '1030', encrypted: 'true', vxlan_port: '4800', rekey_interval: '600' }))).toMatchObject({ port: 4800, encryption: { rekeySeconds: 600 } });
    const clear = configureOverlay(facts({ vni: '1030' }));
    expect(clear.port).toBe(4789);
    expect(clear.encryption).toBeUndefined();
  });
  it('names the encryption among the differences of two definitions', () => {
    const base: NetworkDefinition = { vni: 9, port: 4789, subnets: ['10.0.0.0/24'], gateways: [], internal: false };
    expect(definitionDifferences(base, { ...base, encrypted: { rekeySeconds: 3600, rekeyBytes: 1 << 30 } })).toEqual([
      'encryption: cluster has not set, this host asked for on (rekeySeconds 3600, rekeyBytes 1073741824)',
    ]);
  });
});

describe('an encrypted network on one host', () => {
  let k: FakeKernel;
  let driver: NetworkDriver;
  beforeEach(() => {
    k = fakeKernel();
    driver = new NetworkDriver({ modes: [createOverlayMode({ kernel: k, tag: 'abc123', log })], store: new MemoryStore(), log });
  });
  const create = (generic: Record<string, string>) =>
    driver.createNetwork(
      networkRequests.CreateNetwork.parse({
        NetworkID: NID,
        Options: { 'com.docker.network.generic': { mode: 'overlay', ...generic } },
        IPv4Data: [{ AddressSpace: 'LocalDefault', Pool: '10.20.0.0/24', Gateway: '10.20.0.1/24' }],
        IPv6Data: [],
      }),
    );

  it('has the MTU of the uplink less VXLAN and ESP', async () => {
    await create({ vni: '42', encrypted: 'true' });
    expect(k.links.get('tsvx-3f2a9c01b7')?.mtu).toBe(1400 - 50 - 40);
    expect(k.links.get('tsbr-3f2a9c01b7')?.mtu).toBe(1400 - 50 - 40);
  });
  it('is refused on a kernel without ESP, naming the missing feature, and nothing is made', async () => {
    k.espSupported = false;
    await expect(create({ vni: '42', encrypted: 'true' })).rejects.toMatchObject({ code: 'ERR_KERNEL_FEATURE_MISSING', message: expect.stringMatching(/IPsec ESP \(CONFIG_INET_ESP/) });
    expect(k.changes()).toEqual([]);
    await create({ vni: '42' }); // a cleartext overlay does not need it
  });
});

describe('key ring', () => {
  const t0 = 1_000_000;
  it('rolls a new key in ahead of its use, keeps the old one for the grace, then drops it', () => {
    const r1: KeyRing = { keys: [newKey(1, t0)] };
    const r2 = rolled(r1, t0 + 100);
    expect(r2.keys.map((x) => x.gen)).toEqual([1, 2]);
    expect(r2.keys[1]!.activeFrom).toBe(t0 + 100 + KEY_LEAD_MS);
    expect(r2.keys[1]!.key).toMatch(/^[0-9a-f]{72}$/);
    expect(r2.keys[1]!.key).not.toBe(r2.keys[0]!.key);
    expect(activeKey(r2, t0 + 100 + KEY_LEAD_MS - 1)?.gen).toBe(1);
    expect(activeKey(r2, t0 + 100 + KEY_LEAD_MS)?.gen).toBe(2);
    expect(pruned(r2, t0 + 100 + KEY_LEAD_MS + KEY_GRACE_MS - 1).keys).toHaveLength(2);
    expect(pruned(r2, t0 + 100 + KEY_LEAD_MS + KEY_GRACE_MS).keys.map((x) => x.gen)).toEqual([2]);
  });
  it('sends with the first key before any is active (a ring just made by a host with a later clock)', () => {
    expect(activeKey({ keys: [newKey(1, t0)] }, t0 - 10)?.gen).toBe(1);
  });
});

describe('xfrm states and policies', () => {
  const ring: KeyRing = { keys: [newKey(1, 0), newKey(2, 10_000)] };
  const hosts = ['192.168.7.1', '192.168.7.2', '192.168.7.3'];
  const of = (local: string, now: number) => desiredXfrm({ vni: 77, port: 14877, local, remotes: hosts.filter((h) => h !== local), ring }, now);

  it('gives each host the states its peers send with: outbound SPI and key of one end = inbound of the other', () => {
    for (const now of [5_000, 20_000]) {
      const all = hosts.map((h) => of(h, now));
      for (const [i, a] of hosts.entries()) {
        for (const out of all[i]!.states.filter((s) => s.src === a)) {
          const j = hosts.indexOf(out.dst);
          expect(all[j]!.states).toContainEqual(out);
          expect(out.key).toBe((now < 10_000 ? ring.keys[0] : ring.keys[1])!.key);
        }
      }
      // Inbound: every key from every peer; outbound: the active key to every peer.
      expect(all[0]!.states).toHaveLength(2 * 2 + 2);
      expect(all[0]!.policies).toEqual(
        expect.arrayContaining([
          { src: '192.168.7.1', dst: '192.168.7.2', dport: 14877, dir: 'out', reqid: REQID_BASE | 77 },
          { src: '192.168.7.2', dst: '192.168.7.1', dport: 14877, dir: 'in', reqid: REQID_BASE | 77 },
        ]),
      );
    }
  });
  it('drops the port UDP to and from any other address, below the ESP policies', () => {
    const { policies } = of(hosts[0]!, 5_000);
    expect(policies.filter((p) => p.block)).toEqual([
      { src: hosts[0], dst: '0.0.0.0/0', dport: 14877, dir: 'out', reqid: reqidOf(77), block: true },
      { src: '0.0.0.0/0', dst: hosts[0], dport: 14877, dir: 'in', reqid: reqidOf(77), block: true },
    ]);
    // With no peer at all (a network just made), only the blocks: nothing of it leaves in clear.
    expect(desiredXfrm({ vni: 77, port: 14877, local: 'fd00::1', remotes: [], ring }, 0).policies.map((p) => `${p.src} ${p.dst} ${p.dir}`)).toEqual(['fd00::1 ::/0 out', '::/0 fd00::1 in']);
  });
  it('has SPIs unique per pair, direction and key, and reqids in our range', () => {
    const spis = new Set<number>();
    const vteps = Array.from({ length: 40 }, (_, i) => `10.1.${i >> 4}.${i & 15}`);
    for (const key of ring.keys) for (const a of vteps) for (const b of vteps) if (a !== b) spis.add(spiOf(key, a, b));
    expect(spis.size).toBe(2 * 40 * 39);
    expect(Math.min(...spis)).toBeGreaterThanOrEqual(256);
    expect(isOurReqid(reqidOf(16_777_215))).toBe(true);
    expect(isOurReqid(0x7500_0001)).toBe(false);
  });
  it('orders changes without loss: inbound states, policies, outbound states, then removals; other networks untouched', () => {
    const local = hosts[0]!;
    const before = of(local, 5_000);
    const other = { src: local, dst: '10.9.9.9', spi: 999, reqid: reqidOf(78) };
    const have = { states: [...before.states.map(({ key: _k, ...s }) => s), other], policies: [...before.policies, { src: local, dst: '10.9.9.9', dport: 1, dir: 'out' as const, reqid: reqidOf(78) }] };
    // The switch to key 2: only its outbound states are new; key 1's outbound states go.
    const switched = xfrmChanges(have, of(local, 20_000), reqidOf(77), local);
    const kind = (c: XfrmChange) => `${'add' in c ? 'add' : 'del'} ${'state' in c ? (c.state.dst === local ? 'in' : 'out') : 'policy'}`;
    expect(switched.map(kind)).toEqual(['add out', 'add out', 'del out', 'del out']);
    // A peer leaves: its policies and states go, after nothing is added.
    const left = xfrmChanges(have, desiredXfrm({ vni: 77, port: 14877, local, remotes: [hosts[1]!], ring }, 5_000), reqidOf(77), local);
    expect(left.every((c) => 'del' in c)).toBe(true);
    expect(left.map(kind)).toEqual(['del policy', 'del policy', 'del in', 'del in', 'del out']);
    // From nothing: inbound first, then policies, then outbound.
    const fresh = xfrmChanges({ states: [], policies: [] }, before, reqidOf(77), local);
    expect(fresh.map(kind)).toEqual(['add in', 'add in', 'add in', 'add in', ...Array(6).fill('add policy'), 'add out', 'add out']);
    for (const c of [...switched, ...left, ...fresh]) expect('state' in c ? c.state.reqid : c.policy.reqid).toBe(reqidOf(77));
  });
});
