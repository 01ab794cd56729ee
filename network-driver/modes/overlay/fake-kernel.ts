/**
 * @module A recording fake of {@link OverlayKernel} for unit tests: bridge mode's fake plus VXLAN
 * devices and the FDB and neighbour entries on them. No root, no kernel.
 */
import { fakeKernel, type FakeKernel } from '../bridge/fake-kernel.js';
import type { OverlayKernel } from './kernel.js';

export interface FakeOverlayKernel extends FakeKernel, OverlayKernel {
  /** `dev mac` → VTEP. */
  fdb: Map<string, string>;
  /** `dev ip` → MAC. */
  neighbors: Map<string, string>;
}

export function fakeOverlayKernel(): FakeOverlayKernel {
  const base = fakeKernel();
  let index = 500;
  const entries = <T>(m: Map<string, string>, dev: string, f: (key: string, value: string) => T) =>
    [...m].filter(([k]) => k.startsWith(`${dev} `)).map(([k, v]) => f(k.slice(dev.length + 1), v));
  const k: FakeOverlayKernel = Object.assign(base, {
    fdb: new Map<string, string>(),
    neighbors: new Map<string, string>(),
    async ensureVxlan(name: string, o: Parameters<OverlayKernel['ensureVxlan']>[1]) {
      base.calls.push(`ensureVxlan ${name} ${JSON.stringify(o)}`);
      const vxlan = { vni: o.vni, port: o.port, learning: false, proxy: o.proxy ?? false, ...(o.local ? { local: o.local } : {}) };
      base.links.set(name, { name, index: index++, kind: 'vxlan', mtu: o.mtu ?? 1500, mac: o.mac ?? '', up: true, ...(o.master ? { master: o.master } : {}), vxlan });
    },
    async listFdb(dev: string) {
      return entries(k.fdb, dev, (mac, dst) => ({ dev, mac, dst, self: true, permanent: true }));
    },
    async ensureFdb(dev: string, mac: string, vtep: string) {
      base.calls.push(`ensureFdb ${dev} ${mac} ${vtep}`);
      k.fdb.set(`${dev} ${mac}`, vtep);
    },
    async deleteFdb(dev: string, mac: string) {
      base.calls.push(`deleteFdb ${dev} ${mac}`);
      k.fdb.delete(`${dev} ${mac}`);
    },
    async listNeighbors(dev: string) {
      return entries(k.neighbors, dev, (ip, mac) => ({ dev, ip, mac, permanent: true }));
    },
    async ensureNeighbor(dev: string, ip: string, mac: string) {
      base.calls.push(`ensureNeighbor ${dev} ${ip} ${mac}`);
      k.neighbors.set(`${dev} ${ip}`, mac);
    },
    async deleteNeighbor(dev: string, ip: string) {
      base.calls.push(`deleteNeighbor ${dev} ${ip}`);
      k.neighbors.delete(`${dev} ${ip}`);
    },
  });
  return k;
}
