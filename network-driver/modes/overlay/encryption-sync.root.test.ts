/**
 * Encrypted overlays across two hosts through a real etcd: the key ring made once and shared, each
 * host's outbound state matching the other's inbound one, rekeying by time and by volume with the
 * lossless order (new inbound everywhere, then the outbound switch, then the old key removed), a host
 * that leaves losing its states everywhere, and definitions that disagree on encryption or share an
 * encrypted overlay's port refused. Each host's kernel is the recording fake (the test machine's
 * kernel has no ESP); the clock is the test's. Keys never reach the log. Needs root (etcd).
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import { describe, expect, it, onTestFinished } from 'vitest';
import { openClusterSession } from '../../../common/cluster/session.js';
import { createLogger } from '../../../common/log.js';
import { useTestEtcd } from '../../../testing/cluster/etcd.js';
import { isRoot } from '../../../testing/kernel/netns.js';
import { fakeKernel, type FakeKernel } from '../testing/fake-kernel.js';
import { KEYS, OverlayCluster, type NetworkDefinition, type PeerEndpoint } from './cluster.js';
import { KEY_GRACE_MS, KEY_LEAD_MS, reqidOf, spiOf, type KeyRing } from './encryption.js';
import { EncryptionSync } from './encryption-sync.js';
import { refusal } from '../../../testing/refusal.js';

const etcd = useTestEtcd();
const VTEP = ['10.77.0.1', '10.77.0.2'] as const;
const CFG = { rekeySeconds: 600, rekeyBytes: 1 << 20 };

/** Two hosts on one encrypted network, each with its fake kernel, sharing the test's clock and log. */
async function twoHosts(vni: number) {
  const clock = { now: 1_000_000_000 };
  const lines: string[] = [];
  const stream = new PassThrough().on('data', (d: Buffer) => lines.push(d.toString()));
  const log = createLogger({ stream, level: 'debug' });
  const peers: PeerEndpoint[][] = [[], []];
  const hosts = await Promise.all(
    VTEP.map(async (vtep, i) => {
      const stateDir = `/tmp/tstest-enc-${randomBytes(4).toString('hex')}`;
      onTestFinished(() => rm(stateDir, { recursive: true, force: true }));
      const session = await openClusterSession({ client: etcd.client, stateDir, advertise: '127.0.0.1', ttlSeconds: 5, log });
      onTestFinished(() => session.close());
      const kernel = fakeKernel();
      const cluster = new OverlayCluster(session);
      const sync = new EncryptionSync(kernel, cluster, vtep, () => peers[i]!, log, () => clock.now);
      onTestFinished(() => sync.close());
      return { vtep, kernel, cluster, sync };
    }),
  );
  onTestFinished(async () => void (await etcd.client.delete(`${KEYS}${vni}`)));
  /** Each host sees the other's endpoint. */
  const connect = () => {
    peers[0] = [{ host: 'h2', endpointId: 'e2', vtep: VTEP[1], mac: '02:00:00:00:00:02' }];
    peers[1] = [{ host: 'h1', endpointId: 'e1', vtep: VTEP[0], mac: '02:00:00:00:00:01' }];
  };
  return { clock, lines, peers, hosts, connect };
}

/** The SPIs of a host's states in one direction. */
const spis = (k: FakeKernel, src: string, dst: string) => [...k.xfrmStates.values()].filter((s) => s.src === src && s.dst === dst).map((s) => s.spi).sort();
const ring = async (vni: number) => JSON.parse((await etcd.client.get(`${KEYS}${vni}`))!.value) as KeyRing;

describe.skipIf(!isRoot)('encrypted overlay across two hosts (real etcd, fake kernels)', () => {
  it('shares one ring; each outbound state is the other host inbound one; a leaving host loses its states', async () => {
    const vni = 4101;
    const { hosts, connect, peers, lines } = await twoHosts(vni);
    const [a, b] = hosts;
    await a!.sync.attach(vni, 14900, CFG, true);
    await b!.sync.attach(vni, 14900, CFG, true);
    expect((await ring(vni)).keys.map((k) => k.gen)).toEqual([1]);
    connect();
    await a!.sync.tick();
    await b!.sync.tick();
    const [k1] = (await ring(vni)).keys;
    for (const [from, to] of [[a!, b!], [b!, a!]] as const) {
      expect(spis(from.kernel, from.vtep, to.vtep)).toEqual([spiOf(k1!, from.vtep, to.vtep)]);
      expect(spis(to.kernel, from.vtep, to.vtep)).toEqual([spiOf(k1!, from.vtep, to.vtep)]);
      expect(from.kernel.xfrmStates.get(`${from.vtep} ${to.vtep} ${spiOf(k1!, from.vtep, to.vtep)}`)?.key).toBe(k1!.key);
      expect([...from.kernel.xfrmPolicies.values()].map((p) => `${p.dir} ${p.src}>${p.dst}:${p.dport} ${p.reqid}${p.block ? ' block' : ''}`).sort()).toEqual([
        `in 0.0.0.0/0>${from.vtep}:14900 ${reqidOf(vni)} block`,
        `in ${to.vtep}>${from.vtep}:14900 ${reqidOf(vni)}`,
        `out ${from.vtep}>0.0.0.0/0:14900 ${reqidOf(vni)} block`,
        `out ${from.vtep}>${to.vtep}:14900 ${reqidOf(vni)}`,
      ]);
    }
    expect(a!.sync.status(vni)).toEqual({ keyGeneration: 1, keysAccepted: 1 });

    // Host 2 leaves (its endpoints are gone from etcd): host 1 drops everything toward it, and keeps blocking clear text.
    peers[0] = [];
    a!.sync.peersChanged(vni);
    await a!.sync.tick();
    expect(a!.kernel.xfrmStates.size).toBe(0);
    expect([...a!.kernel.xfrmPolicies.values()].every((p) => p.block)).toBe(true);
    expect(a!.kernel.xfrmPolicies.size).toBe(2);
    await a!.sync.detach(vni);
    expect(a!.kernel.xfrmPolicies.size).toBe(0);
    await b!.sync.detach(vni);
    expect(b!.kernel.xfrmStates.size + b!.kernel.xfrmPolicies.size).toBe(0);
    expect(lines.join('')).not.toContain(k1!.key);
  });

  it('rekeys by time: new inbound on both hosts first, outbound switch at its time, old key gone after the grace', async () => {
    const vni = 4102;
    const { clock, hosts, connect, lines } = await twoHosts(vni);
    const [a, b] = hosts;
    connect();
    await a!.sync.attach(vni, 14901, CFG, true);
    await b!.sync.attach(vni, 14901, CFG, true);
    const [k1] = (await ring(vni)).keys;

    clock.now += CFG.rekeySeconds * 1000;
    await a!.sync.tick(); // due: host 1 rolls key 2 in
    await b!.sync.tick();
    const r2 = await ring(vni);
    expect(r2.keys.map((k) => k.gen)).toEqual([1, 2]);
    const k2 = r2.keys[1]!;
    expect(k2.activeFrom).toBe(clock.now + KEY_LEAD_MS);
    await a!.sync.tick();
    // Both accept key 2 from the other, both still send with key 1.
    for (const [from, to] of [[a!, b!], [b!, a!]] as const) {
      expect(spis(to.kernel, from.vtep, to.vtep)).toEqual([spiOf(k1!, from.vtep, to.vtep), spiOf(k2, from.vtep, to.vtep)].sort());
      expect(spis(from.kernel, from.vtep, to.vtep)).toEqual([spiOf(k1!, from.vtep, to.vtep)]);
    }

    clock.now = k2.activeFrom;
    await a!.sync.tick();
    await b!.sync.tick();
    for (const [from, to] of [[a!, b!], [b!, a!]] as const) {
      expect(spis(from.kernel, from.vtep, to.vtep)).toEqual([spiOf(k2, from.vtep, to.vtep)]);
      expect(spis(to.kernel, from.vtep, to.vtep)).toHaveLength(2); // key 1 still accepted: packets in flight
    }
    // The switch added the new outbound state before removing the old one.
    const hex = (spi: number) => `spi 0x${spi.toString(16).padStart(8, '0')}`;
    const applied = a!.kernel.calls.find((c) => c.startsWith('applyXfrm') && c.includes(`state delete src ${a!.vtep} dst ${b!.vtep} proto esp ${hex(spiOf(k1!, a!.vtep, b!.vtep))}`))!;
    expect(applied.indexOf(hex(spiOf(k2, a!.vtep, b!.vtep)))).toBeGreaterThan(0);
    expect(applied.indexOf(hex(spiOf(k2, a!.vtep, b!.vtep)))).toBeLessThan(applied.indexOf('state delete'));

    clock.now += KEY_GRACE_MS;
    await a!.sync.tick();
    await b!.sync.tick();
    await a!.sync.tick();
    expect((await ring(vni)).keys.map((k) => k.gen)).toEqual([2]);
    for (const h of [a!, b!]) expect([...h.kernel.xfrmStates.values()].map((s) => s.key)).toEqual([k2.key, k2.key]);
    expect(lines.join('')).toMatch(/rekeyed encrypted overlay.*"reason":"interval"/);
    for (const k of [k1!, k2]) expect(lines.join('')).not.toContain(k.key);
  });

  it('rekeys by volume, when an outbound state has carried rekey_bytes', async () => {
    const vni = 4103;
    const { hosts, connect, lines } = await twoHosts(vni);
    const [a, b] = hosts;
    connect();
    await a!.sync.attach(vni, 14902, CFG, true);
    await b!.sync.attach(vni, 14902, CFG, true);
    const [k1] = (await ring(vni)).keys;
    a!.kernel.xfrmCounters.set(spiOf(k1!, a!.vtep, b!.vtep), CFG.rekeyBytes - 1);
    await a!.sync.tick();
    expect((await ring(vni)).keys).toHaveLength(1);
    a!.kernel.xfrmCounters.set(spiOf(k1!, a!.vtep, b!.vtep), CFG.rekeyBytes);
    await a!.sync.tick();
    expect((await ring(vni)).keys.map((k) => k.gen)).toEqual([1, 2]);
    expect(lines.join('')).toMatch(/"reason":"volume"/);
  });

  it('refuses a host that asks for the network without encryption, and a port shared with an encrypted network', async () => {
    const { hosts } = await twoHosts(4104);
    const [a, b] = hosts;
    const def: NetworkDefinition = { vni: 4104, port: 14903, subnets: ['10.104.0.0/24'], gateways: [], internal: false, encrypted: CFG };
    await a!.cluster.claimNetwork(def, 'n1');
    onTestFinished(() => a!.cluster.releaseNetwork(4104));
    const { encrypted: _e, ...clear } = def;
    await expect(b!.cluster.claimNetwork(clear, 'n1')).rejects.toThrow(refusal('ERR_CONFLICT', /encryption: cluster has on \(rekeySeconds 600, rekeyBytes 1048576\), this host asked for not set/));
    await expect(b!.cluster.claimNetwork({ ...clear, vni: 4105 }, 'n2')).rejects.toThrow(refusal('ERR_CONFLICT', /vni 4104 \(encrypted\) already uses VXLAN port 14903/));
    await b!.cluster.claimNetwork({ ...clear, vni: 4105, port: 14904 }, 'n2');
    await b!.cluster.releaseNetwork(4105);
  });
});
