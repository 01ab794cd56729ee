/**
 * @module Contract suite for addresses, routes, neighbours and FDB entries, run once per back end
 * by `addressing.root.test.ts`. Each test gets a fresh throwaway namespace with a bridge in it.
 */
import { describe, expect, test } from 'vitest';
import { links as ipLinks } from '../links-api.js';
import type { Target } from './links.contract.js';
import { InvalidNameError, RtnlError } from '../rt-errors.js';

/** A target whose namespace holds an up bridge `tsbr0` with 10.20.0.1/24 and fd20::1/64. */
async function withBridge(makeTarget: () => Promise<Target>): Promise<Target> {
  const t = await makeTarget();
  await t.api.ensureBridge('tsbr0', t.opts);
  await t.api.ensureAddress('tsbr0', '10.20.0.1/24', t.opts);
  await t.api.ensureAddress('tsbr0', 'fd20::1/64', { ...t.opts, nodad: true });
  return t;
}

export function runAddressingContract(label: string, makeTarget: () => Promise<Target>): void {
  describe(`addresses, routes, neighbours, fdb (${label})`, () => {
    test('ensureAddress adds IPv4 and IPv6 once; deleteAddress removes, twice', async () => {
      const t = await withBridge(makeTarget);
      await t.api.ensureAddress('tsbr0', '10.20.0.1/24', t.opts);
      await t.api.ensureAddress('tsbr0', 'fd20:0:0::1/64', { ...t.opts, nodad: true });
      const global = (await t.api.listAddresses('tsbr0', t.opts)).filter((a) => a.scope === 'global');
      expect(global).toEqual([
        { family: 4, address: '10.20.0.1', prefixLength: 24, cidr: '10.20.0.1/24', scope: 'global' },
        { family: 6, address: 'fd20::1', prefixLength: 64, cidr: 'fd20::1/64', scope: 'global' },
      ]);
      expect((await ipLinks.listAddresses('tsbr0', { netns: t.ns, family: 6 })).map((a) => a.cidr)).toContain('fd20::1/64');
      await t.api.deleteAddress('tsbr0', '10.20.0.1/24', t.opts);
      await t.api.deleteAddress('tsbr0', '10.20.0.1/24', t.opts);
      await t.api.deleteAddress('tsnope0', '10.20.0.1/24', t.opts);
      expect((await t.api.listAddresses('tsbr0', { ...t.opts, family: 4 })).length).toBe(0);
      await expect(t.api.ensureAddress('tsbr0', '10.20.0.300/24', t.opts)).rejects.toBeInstanceOf(RtnlError);
    });

    test('listAllAddresses gives every link its addresses from one dump, as listAddresses gives them', async () => {
      const t = await withBridge(makeTarget);
      await t.api.ensureBridge('tsbr1', t.opts);
      await t.api.ensureAddress('tsbr1', '10.21.0.1/24', t.opts);
      const all = await t.api.listAllAddresses(t.opts);
      const of = (link: string) => all.filter((a) => a.dev === link).map(({ dev: _dev, ...a }) => a);
      for (const link of ['tsbr0', 'tsbr1']) expect(of(link)).toEqual(await t.api.listAddresses(link, t.opts));
      expect(of('tsbr1').map((a) => a.cidr)).toContain('10.21.0.1/24');
      expect(of('tsbr0').map((a) => a.cidr)).toEqual(expect.arrayContaining(['10.20.0.1/24', 'fd20::1/64']));
    });

    test('ensureRoute: gateway, device, unreachable and blackhole routes, IPv4 and IPv6, idempotent', async () => {
      const t = await withBridge(makeTarget);
      const routes = [
        { dst: '0.0.0.0/0', via: '10.20.0.254' },
        { dst: '10.30.0.0/16', via: '10.20.0.253' },
        { dst: '10.31.0.0/16', dev: 'tsbr0' },
        { dst: '10.32.0.0/16', type: 'unreachable' as const },
        { dst: '10.33.0.0/16', type: 'blackhole' as const },
        { dst: 'fd30::/64', via: 'fd20::fe' },
        { dst: 'fd31:0::/64', type: 'unreachable' as const },
      ];
      for (const r of routes) await t.api.ensureRoute(r, t.opts);
      for (const r of routes) await t.api.ensureRoute(r, t.opts);
      const main = await t.api.listRoutes(t.opts);
      const mine = main.filter((r) => r.protocol === 3);
      expect(mine.map(({ family, dst, via, dev, type }) => ({ family, dst, via, dev, type }))).toEqual([
        { family: 4, dst: '0.0.0.0/0', via: '10.20.0.254', dev: 'tsbr0', type: 'unicast' },
        { family: 4, dst: '10.30.0.0/16', via: '10.20.0.253', dev: 'tsbr0', type: 'unicast' },
        { family: 4, dst: '10.31.0.0/16', via: undefined, dev: 'tsbr0', type: 'unicast' },
        { family: 4, dst: '10.32.0.0/16', via: undefined, dev: undefined, type: 'unreachable' },
        { family: 4, dst: '10.33.0.0/16', via: undefined, dev: undefined, type: 'blackhole' },
        { family: 6, dst: 'fd30::/64', via: 'fd20::fe', dev: 'tsbr0', type: 'unicast' },
        { family: 6, dst: 'fd31::/64', via: undefined, dev: 'lo', type: 'unreachable' },
      ]);
      expect(mine.every((r) => r.table === 254)).toBe(true);
      expect(main.find((r) => r.dst === '10.20.0.0/24')).toMatchObject({ protocol: 2, scope: 253, dev: 'tsbr0' });
      expect((await t.api.listRoutes({ ...t.opts, family: 6 })).every((r) => r.family === 6)).toBe(true);
      for (const r of routes) await t.api.deleteRoute(r, t.opts);
      for (const r of routes) await t.api.deleteRoute(r, t.opts);
      expect((await t.api.listRoutes(t.opts)).filter((r) => r.protocol === 3)).toEqual([]);
    });

    test('routes in another table are listed with that table only', async () => {
      const t = await withBridge(makeTarget);
      await t.api.ensureRoute({ dst: '10.40.0.0/16', via: '10.20.0.254', table: 100 }, t.opts);
      await t.api.ensureRoute({ dst: '::/0', type: 'unreachable', table: 100, metric: 2048 }, t.opts);
      const t100 = await t.api.listRoutes({ ...t.opts, table: 100 });
      expect(t100.map((r) => [r.family, r.dst, r.table])).toEqual([
        [4, '10.40.0.0/16', 100],
        [6, '::/0', 100],
      ]);
      expect(t100[1]?.metric).toBe(2048);
      expect((await t.api.listRoutes(t.opts)).some((r) => r.dst === '10.40.0.0/16')).toBe(false);
      expect((await t.api.listRoutes({ ...t.opts, table: 'all' })).some((r) => r.table === 255)).toBe(true);
      await t.api.deleteRoute({ dst: '10.40.0.0/16', table: 100 }, t.opts);
      await t.api.deleteRoute({ dst: '::/0', type: 'unreachable', table: 100, metric: 2048 }, t.opts);
      expect(await t.api.listRoutes({ ...t.opts, table: 100 })).toEqual([]);
    });

    test('route errors name the route; a gateway of the other family is refused', async () => {
      const t = await withBridge(makeTarget);
      const err = await t.api.ensureRoute({ dst: '10.50.0.0/16', via: '10.99.0.1' }, t.opts).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RtnlError);
      expect((err as Error).message).toMatch(/^add route 10\.50\.0\.0\/16 via 10\.99\.0\.1: /);
      await expect(t.api.ensureRoute({ dst: '10.50.0.0/16', via: 'fd20::fe' }, t.opts)).rejects.toMatchObject({ errno: 'EINVAL' });
      await expect(t.api.ensureRoute({ dst: '10.50.0.0/16', dev: 'tsbr0/x' }, t.opts)).rejects.toBeInstanceOf(InvalidNameError);
    });

    test('ensureNeighbor makes permanent IPv4/IPv6 entries, replaces the MAC; deleteNeighbor twice', async () => {
      const t = await withBridge(makeTarget);
      await t.api.ensureNeighbor('tsbr0', '10.20.0.7', '02:00:00:00:00:07', t.opts);
      await t.api.ensureNeighbor('tsbr0', '10.20.0.7', '02:00:00:00:00:07', t.opts);
      await t.api.ensureNeighbor('tsbr0', 'fd20::7', '02:00:00:00:00:07', t.opts);
      await t.api.ensureNeighbor('tsbr0', 'fd20::7', '02:00:00:00:00:77', t.opts);
      const sorted = (await t.api.listNeighbors('tsbr0', t.opts)).sort((a, b) => a.ip.localeCompare(b.ip));
      expect(sorted).toEqual([
        { dev: 'tsbr0', ip: '10.20.0.7', mac: '02:00:00:00:00:07', permanent: true },
        { dev: 'tsbr0', ip: 'fd20::7', mac: '02:00:00:00:00:77', permanent: true },
      ]);
      await t.api.deleteNeighbor('tsbr0', '10.20.0.7', t.opts);
      await t.api.deleteNeighbor('tsbr0', '10.20.0.7', t.opts);
      await t.api.deleteNeighbor('tsbr0', 'fd20::7', t.opts);
      expect(await t.api.listNeighbors('tsbr0', t.opts)).toEqual([]);
    });

    test('VXLAN with learning off: static FDB and neighbour entries, flooding list', async () => {
      const t = await makeTarget();
      await t.api.ensureVxlan('tsvx0', { ...t.opts, vni: 100, port: 4789, local: '10.60.0.1', learning: false });
      const mac = '02:42:0a:00:00:02';
      await t.api.ensureFdb('tsvx0', mac, '10.60.0.2', t.opts);
      await t.api.ensureFdb('tsvx0', mac, '10.60.0.2', t.opts);
      await t.api.ensureFdb('tsvx0', mac, '10.60.0.3', t.opts); // the MAC moved: replaces
      await t.api.ensureFdb('tsvx0', '00:00:00:00:00:00', '10.60.0.2', t.opts);
      await t.api.ensureFdb('tsvx0', '00:00:00:00:00:00', '10.60.0.3', t.opts);
      await t.api.ensureFdb('tsvx0', '00:00:00:00:00:00', '10.60.0.3', t.opts);
      await t.api.ensureNeighbor('tsvx0', '10.0.0.2', mac, t.opts);
      const fdb = (await t.api.listFdb('tsvx0', t.opts)).filter((e) => e.dst !== undefined);
      expect(fdb.map((e) => `${e.mac} ${e.dst} ${e.self} ${e.permanent}`).sort()).toEqual([
        '00:00:00:00:00:00 10.60.0.2 true true',
        '00:00:00:00:00:00 10.60.0.3 true true',
        `${mac} 10.60.0.3 true true`,
      ]);
      expect(await t.api.listNeighbors('tsvx0', t.opts)).toEqual([{ dev: 'tsvx0', ip: '10.0.0.2', mac, permanent: true }]);
      await t.api.deleteFdb('tsvx0', '00:00:00:00:00:00', '10.60.0.2', t.opts);
      await t.api.deleteFdb('tsvx0', '00:00:00:00:00:00', '10.60.0.2', t.opts);
      await t.api.deleteFdb('tsvx0', mac, undefined, t.opts);
      await t.api.deleteFdb('tsnope0', mac, undefined, t.opts);
      const left = (await t.api.listFdb('tsvx0', t.opts)).filter((e) => e.dst !== undefined);
      expect(left.map((e) => `${e.mac} ${e.dst}`)).toEqual(['00:00:00:00:00:00 10.60.0.3']);
    });

    test('operations in a namespace that does not exist: deletes succeed, the rest fail clearly', async () => {
      const t = await makeTarget();
      if (t.opts.netns === undefined) return; // only the `ip -n` path names a namespace
      const gone = { netns: `${t.ns}x` };
      await t.api.deleteLink('tsbr0', gone);
      await t.api.deleteAddress('tsbr0', '10.0.0.1/24', gone);
      await t.api.deleteRoute({ dst: '10.0.0.0/24' }, gone);
      await t.api.deleteNeighbor('tsbr0', '10.0.0.1', gone);
      await expect(t.api.ensureBridge('tsbr0', gone)).rejects.toMatchObject({ errno: 'ENONETNS' });
      await expect(t.api.findLink('tsbr0', gone)).rejects.toThrow(/Cannot open network namespace/);
    });
  });
}
