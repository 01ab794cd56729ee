/**
 * @module Incremental desired entries of an overlay segment (peers.ts `PeerEntries`): one peer event
 * yields only that peer's entries, and programming those differences one event at a time leaves a
 * device with exactly the entries a full recompute calls for.
 */
import { describe, expect, it } from 'vitest';
import type { PeerEndpoint } from './cluster.js';
import { desiredEntries, PeerEntries, peerKey, type SegmentEntries } from './peers.js';

const hex = (n: number) => n.toString(16).padStart(2, '0');
const peer = (n: number, host = `h${n % 7}`, mac = n): PeerEndpoint => ({
  host,
  endpointId: `e${n}`,
  vtep: `192.0.2.${1 + (n % 7)}`,
  mac: `02:42:0A:${hex((mac >> 16) & 0xff)}:${hex((mac >> 8) & 0xff)}:${hex(mac & 0xff)}`,
  ip: `10.${(n >> 16) & 0xff}.${(n >> 8) & 0xff}.${n & 0xff}`,
  ...(n % 3 === 0 && { ip6: `fd00::${n.toString(16)}` }),
});

/** Applies a difference the way PeerSync programs it: removals, then additions and changes. */
function program(device: SegmentEntries, d: { from: SegmentEntries; to: SegmentEntries }): void {
  for (const kind of ['fdb', 'neighbors'] as const) {
    for (const k of d.from[kind].keys()) if (!d.to[kind].has(k)) device[kind].delete(k);
    for (const [k, v] of d.to[kind]) device[kind].set(k, v);
  }
}

describe('PeerEntries', () => {
  it('answers one event with that peer\'s entries only, however many peers there are', () => {
    const entries = new PeerEntries(Array.from({ length: 5000 }, (_, i) => peer(i)));
    const p = peer(6000);
    const added = entries.set(peerKey(p), p);
    expect(added.from).toEqual({ fdb: new Map(), neighbors: new Map() });
    expect(added.to).toEqual({ fdb: new Map([[p.mac.toLowerCase(), p.vtep]]), neighbors: new Map([[p.ip!, p.mac.toLowerCase()], [p.ip6!, p.mac.toLowerCase()]]) });
    const moved = { ...p, vtep: '192.0.2.99' };
    expect(entries.set(peerKey(p), moved)).toEqual({ from: added.to, to: { fdb: new Map([[p.mac.toLowerCase(), '192.0.2.99']]), neighbors: added.to.neighbors } });
    expect(entries.set(peerKey(p), undefined)).toEqual({ from: { fdb: new Map([[p.mac.toLowerCase(), '192.0.2.99']]), neighbors: added.to.neighbors }, to: { fdb: new Map(), neighbors: new Map() } });
    expect(entries.size).toBe(5000);
  });

  it('keeps the first claimant of a MAC or address, and hands it to the next when the first goes', () => {
    const a = peer(1, 'ha', 7);
    const b = { ...peer(2, 'hb', 7), ip: a.ip };
    const entries = new PeerEntries([a]);
    expect(entries.set(peerKey(b), b).to.fdb).toEqual(new Map([[a.mac.toLowerCase(), a.vtep]]));
    const gone = entries.set(peerKey(a), undefined);
    expect(gone.to.fdb).toEqual(new Map([[b.mac.toLowerCase(), b.vtep]]));
    expect(gone.to.neighbors.get(a.ip!)).toBe(b.mac.toLowerCase());
    expect(entries.entries()).toEqual(desiredEntries([b]));
  });

  it('programmed one event at a time, leaves a device equal to a full recompute', () => {
    let seed = 42;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const entries = new PeerEntries();
    const live = new Map<string, PeerEndpoint>();
    const device: SegmentEntries = { fdb: new Map(), neighbors: new Map() };
    for (let i = 0; i < 3000; i++) {
      const n = rand(300);
      // A few MACs and addresses shared, as a collision would have them.
      const p = rand(4) === 0 ? undefined : { ...peer(n, `h${n % 5}`, rand(10) === 0 ? 1 : n), vtep: `192.0.2.${1 + rand(9)}` };
      const key = peerKey(peer(n, `h${n % 5}`));
      program(device, entries.set(key, p));
      if (p) live.set(key, p);
      else live.delete(key);
      expect(device).toEqual(entries.entries());
    }
    const full = desiredEntries(live.values());
    expect(new Set(device.fdb.keys())).toEqual(new Set(full.fdb.keys()));
    expect(new Set(device.neighbors.keys())).toEqual(new Set(full.neighbors.keys()));
  });
});
