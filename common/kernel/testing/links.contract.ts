/**
 * @module Contract suite for the link operations, run once per back end by `links.root.test.ts`
 * (hono's `common.case.test.ts` pattern). Each test gets a fresh throwaway namespace; the state
 * is checked through `ip -n` (the iproute2 back end), independently of the path under test.
 */
import { describe, expect, test } from 'vitest';
import { linksInNetns } from '../../../testing/kernel/links-in-netns.js';
import { makeTestNetns, randomName } from '../../../testing/kernel/netns.js';
import type { NetnsOption } from '../link-types.js';
import type { Links } from '../links-api.js';
import { links as ipLinks } from '../links-api.js';
import { InvalidNameError, LinkConflictError, RtnlError } from '../rt-errors.js';

/** The API under test, bound to one namespace: `opts` is `{ netns }` for `ip -n`, `{}` for a child inside it. */
export interface Target {
  ns: string;
  api: Links;
  opts: NetnsOption;
}

/** Reads a link of the target namespace through `ip -n`. */
export async function observe(t: Target, name: string) {
  return ipLinks.findLink(name, { netns: t.ns });
}

/** The two back ends, each as a factory of a fresh target: `ip -n` from outside, netlink from a child inside. */
export const TARGETS: ReadonlyArray<readonly [string, () => Promise<Target>]> = [
  [
    'ip -n, another namespace',
    async () => {
      const ns = await makeTestNetns();
      return { ns, api: ipLinks, opts: { netns: ns } };
    },
  ],
  [
    'netlink, own namespace',
    async () => {
      const ns = await makeTestNetns();
      return { ns, api: await linksInNetns(ns), opts: {} };
    },
  ],
];

export function runLinksContract(label: string, makeTarget: () => Promise<Target>): void {
  describe(`links (${label})`, () => {
    test('ensureBridge creates an up bridge and keeps it on a second call', async () => {
      const t = await makeTarget();
      await t.api.ensureBridge('tsbr0', { ...t.opts, mtu: 1400 });
      const first = await observe(t, 'tsbr0');
      expect(first).toMatchObject({ kind: 'bridge', mtu: 1400, up: true });
      await t.api.ensureBridge('tsbr0', { ...t.opts, mtu: 1400 });
      expect((await observe(t, 'tsbr0'))?.index).toBe(first?.index);
    });

    test('ensureBridge fixes up MTU, MAC and state of an existing bridge', async () => {
      const t = await makeTarget();
      await t.api.ensureBridge('tsbr0', { ...t.opts, up: false });
      await t.api.ensureBridge('tsbr0', { ...t.opts, mtu: 1300, mac: '02:AA:00:00:00:01' });
      expect(await observe(t, 'tsbr0')).toMatchObject({ mtu: 1300, mac: '02:aa:00:00:00:01', up: true });
    });

    test('a bridge MTU survives a smaller port joining (set after creation)', async () => {
      const t = await makeTarget();
      await t.api.ensureBridge('tsbr0', { ...t.opts, mtu: 1400 });
      await t.api.ensureVethPair('tsv0', 'tsv0p', { ...t.opts, mtu: 1300, master: 'tsbr0' });
      expect((await observe(t, 'tsbr0'))?.mtu).toBe(1400);
    });

    test('a failed step after create removes the new bridge again', async () => {
      const t = await makeTarget();
      const err = await t.api.ensureBridge('tsbr0', { ...t.opts, mtu: 70000 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RtnlError);
      expect((err as RtnlError).message).toMatch(/bridge "tsbr0"/);
      expect(await observe(t, 'tsbr0')).toBeUndefined();
    });

    test('ensureBridge refuses a link of that name of another kind', async () => {
      const t = await makeTarget();
      await t.api.ensureVethPair('tsx0', 'tsx0p', t.opts);
      const err = await t.api.ensureBridge('tsx0', t.opts).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LinkConflictError);
      expect((err as LinkConflictError).code).toBe('ERR_KERNEL_LINK_CONFLICT');
      expect((err as Error).message).toMatch(/bridge "tsx0".*veth/);
    });

    test('interface names longer than 15 bytes, or with "/", ":" or spaces, are refused', async () => {
      const t = await makeTarget();
      await expect(t.api.ensureBridge('tsbr-0123456789', t.opts)).resolves.toBeUndefined(); // 15 bytes
      await expect(t.api.ensureBridge('tsbr-01234567890', t.opts)).rejects.toBeInstanceOf(InvalidNameError);
      await expect(t.api.ensureBridge('tsbr-ééééééé', t.opts)).rejects.toThrow(/19 bytes long/);
      await expect(t.api.ensureVethPair('tsv0', 'a:b', t.opts)).rejects.toBeInstanceOf(InvalidNameError);
      await expect(t.api.findLink('', t.opts)).rejects.toBeInstanceOf(InvalidNameError);
      expect(await observe(t, 'tsv0')).toBeUndefined();
    });

    test('deleteLink of a missing link succeeds; errors name the link and the step', async () => {
      const t = await makeTarget();
      await expect(t.api.deleteLink('tsnope0', t.opts)).resolves.toBeUndefined();
      const err = await t.api.setMtu('tsnope0', 1400, t.opts).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RtnlError);
      expect(err).toMatchObject({ errno: 'ENODEV', object: 'link "tsnope0"' });
      expect((err as Error).message).toMatch(/^set MTU 1400 on link "tsnope0": /);
    });

    test('ensureVethPair: both ends up, with MTU, MACs and master, idempotent', async () => {
      const t = await makeTarget();
      await t.api.ensureBridge('tsbr0', t.opts);
      const opts = { ...t.opts, mtu: 1380, peerMac: '02:00:00:00:00:05', master: 'tsbr0' };
      await t.api.ensureVethPair('tsv1', 'tsv1p', opts);
      const host = await observe(t, 'tsv1');
      const peer = await observe(t, 'tsv1p');
      expect(host).toMatchObject({ kind: 'veth', mtu: 1380, up: true, master: 'tsbr0', peer: 'tsv1p', peerIndex: peer?.index });
      expect(peer).toMatchObject({ kind: 'veth', mtu: 1380, up: true, mac: '02:00:00:00:00:05', peer: 'tsv1' });
      await t.api.ensureVethPair('tsv1', 'tsv1p', opts);
      expect((await observe(t, 'tsv1'))?.index).toBe(host?.index);
      const seen = await t.api.findLink('tsv1', t.opts);
      expect(seen).toMatchObject({ name: 'tsv1', kind: 'veth', peer: 'tsv1p', master: 'tsbr0', masterIndex: host?.masterIndex });
    });

    test('ensureVethPair fixes up the MTU of both ends of an existing pair', async () => {
      const t = await makeTarget();
      await t.api.ensureVethPair('tsv1', 'tsv1p', { ...t.opts, up: false });
      await t.api.ensureVethPair('tsv1', 'tsv1p', { ...t.opts, mtu: 1280 });
      expect(await observe(t, 'tsv1')).toMatchObject({ mtu: 1280, up: true });
      expect(await observe(t, 'tsv1p')).toMatchObject({ mtu: 1280, up: true });
    });

    test('ensureVethPair refuses another peer name, or a peer name taken by another link', async () => {
      const t = await makeTarget();
      await t.api.ensureVethPair('tsv1', 'tsv1p', t.opts);
      await expect(t.api.ensureVethPair('tsv1', 'tsv1q', t.opts)).rejects.toBeInstanceOf(LinkConflictError);
      await t.api.ensureBridge('tsbr9', t.opts);
      await expect(t.api.ensureVethPair('tsv2', 'tsbr9', t.opts)).rejects.toBeInstanceOf(LinkConflictError);
      expect(await observe(t, 'tsv2')).toBeUndefined();
    });

    test('moveToNetns moves and renames in one step, idempotently; the pair still counts as existing', async () => {
      const t = await makeTarget();
      const other = await makeTestNetns();
      await t.api.ensureVethPair('tsv3', 'tsv3p', t.opts);
      await t.api.moveToNetns('tsv3p', other, { ...t.opts, newName: 'eth0' });
      expect(await observe(t, 'tsv3p')).toBeUndefined();
      expect(await ipLinks.findLink('eth0', { netns: other })).toMatchObject({ kind: 'veth', up: false });
      expect(await observe(t, 'tsv3')).toMatchObject({ peerInOtherNetns: true });
      await t.api.moveToNetns('tsv3p', other, { ...t.opts, newName: 'eth0' });
      await t.api.ensureVethPair('tsv3', 'tsv3p', t.opts);
      await expect(t.api.moveToNetns('tsnope0', other, t.opts)).rejects.toMatchObject({ errno: 'ENODEV' });
      await expect(t.api.moveToNetns('tsv3', randomName('tstest-'), t.opts)).rejects.toMatchObject({ errno: 'ENONETNS' });
    });

    test('ensureVxlan: learning off, ARP proxy, VNI, port, local address, MAC and master; idempotent; other VNI or proxy conflicts', async () => {
      const t = await makeTarget();
      await t.api.ensureVethPair('tsu0', 'tsu0p', t.opts);
      await t.api.ensureBridge('tsbr0', t.opts);
      const opts = { ...t.opts, vni: 4242, port: 4789, local: '10.77.0.1', dev: 'tsu0', learning: false as const, proxy: true, mtu: 1450, mac: '02:74:78:00:00:01', master: 'tsbr0' };
      await t.api.ensureVxlan('tsvx0', opts);
      const vx = await observe(t, 'tsvx0');
      expect(vx).toMatchObject({ kind: 'vxlan', mtu: 1450, up: true, parent: 'tsu0', mac: '02:74:78:00:00:01', master: 'tsbr0' });
      expect(vx?.vxlan).toEqual({ vni: 4242, port: 4789, local: '10.77.0.1', learning: false, proxy: true });
      expect((await t.api.findLink('tsvx0', t.opts))?.vxlan).toEqual(vx?.vxlan);
      await t.api.ensureVxlan('tsvx0', opts);
      expect((await observe(t, 'tsvx0'))?.index).toBe(vx?.index);
      await expect(t.api.ensureVxlan('tsvx0', { ...opts, vni: 4243 })).rejects.toBeInstanceOf(LinkConflictError);
      await expect(t.api.ensureVxlan('tsvx0', { ...opts, proxy: false })).rejects.toBeInstanceOf(LinkConflictError);
    });

    test('ensureMacvlan on a veth parent; idempotent; another mode conflicts', async () => {
      const t = await makeTarget();
      await t.api.ensureVethPair('tsp0', 'tsp0p', t.opts);
      await t.api.ensureMacvlan('tsmv0', 'tsp0', 'bridge', { ...t.opts, mtu: 1400 });
      const mv = await observe(t, 'tsmv0');
      expect(mv).toMatchObject({ kind: 'macvlan', parent: 'tsp0', macvlanMode: 'bridge', mtu: 1400, up: true });
      expect(await t.api.findLink('tsmv0', t.opts)).toMatchObject({ parent: 'tsp0', macvlanMode: 'bridge' });
      await t.api.ensureMacvlan('tsmv0', 'tsp0', 'bridge', t.opts);
      expect((await observe(t, 'tsmv0'))?.index).toBe(mv?.index);
      await expect(t.api.ensureMacvlan('tsmv0', 'tsp0', 'private', t.opts)).rejects.toBeInstanceOf(LinkConflictError);
      await expect(t.api.ensureMacvlan('tsmv1', 'tsnope0', 'bridge', t.opts)).rejects.toMatchObject({ errno: 'ENODEV' });
    });

    test('setMaster, setMtu, setMac, setUp and setDown change one attribute each', async () => {
      const t = await makeTarget();
      await t.api.ensureBridge('tsbr0', t.opts);
      await t.api.ensureVethPair('tsv4', 'tsv4p', { ...t.opts, up: false });
      await t.api.setMaster('tsv4', 'tsbr0', t.opts);
      await t.api.setMaster('tsv4', 'tsbr0', t.opts);
      await t.api.setMtu('tsv4', 1234, t.opts);
      await t.api.setMac('tsv4', '02:00:00:00:00:44', t.opts);
      await t.api.setUp('tsv4', t.opts);
      expect(await observe(t, 'tsv4')).toMatchObject({ master: 'tsbr0', mtu: 1234, mac: '02:00:00:00:00:44', up: true });
      await t.api.setMaster('tsv4', null, t.opts);
      await t.api.setDown('tsv4', t.opts);
      const after = await observe(t, 'tsv4');
      expect(after?.master).toBeUndefined();
      expect(after?.up).toBe(false);
    });

    test('concurrent calls (as Docker makes them) all complete, with dumps in between', async () => {
      const t = await makeTarget();
      const names = Array.from({ length: 8 }, (_, i) => `tsc${i}`);
      const work = names.flatMap((n) => [t.api.ensureVethPair(n, `${n}p`, t.opts), t.api.listLinks('tsc', t.opts)]);
      await Promise.all([...work, ...names.map((n) => t.api.ensureVethPair(n, `${n}p`, t.opts))]);
      expect((await t.api.listLinks('tsc', t.opts)).length).toBe(16);
    });

    test('listLinks filters by prefix and sorts by name; deleteLink removes both veth ends', async () => {
      const t = await makeTarget();
      await t.api.ensureVethPair('tsb1', 'tsb1p', t.opts);
      await t.api.ensureBridge('tsa1', t.opts);
      expect((await t.api.listLinks('ts', t.opts)).map((l) => l.name)).toEqual(['tsa1', 'tsb1', 'tsb1p']);
      await t.api.deleteLink('tsb1', t.opts);
      expect((await t.api.listLinks('tsb', t.opts)).map((l) => l.name)).toEqual([]);
    });
  });
}
