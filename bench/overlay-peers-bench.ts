/**
 * @module Overlay peer events in memory: the CPU time to turn one endpoint event into the kernel entries
 * to change, for a network of E remote endpoints, the full recompute (the network's desired entries
 * built from all E peers before and after the event, as `PeerSync` did) against the incremental
 * `PeerEntries.set` of network-driver/modes/overlay/peers.ts (only that peer's entries). No kernel, no
 * etcd, no root: the kernel writes (two netlink requests per event) are the same either way.
 *
 *   npm run bench -- overlay-peers-bench [--sizes 100,400,4000] [--events 300]
 */
import { parseArgs } from 'node:util';
import type { PeerEndpoint } from '../network-driver/modes/overlay/cluster.js';
import { desiredEntries, PeerEntries, peerKey } from '../network-driver/modes/overlay/peers.js';
import { percentile, printTable } from '../testing/measure/stats.js';

const { values: opt } = parseArgs({ options: { sizes: { type: 'string', default: '100,400,4000' }, events: { type: 'string', default: '300' } } });
const SIZES = opt.sizes.split(',').map(Number);
const EVENTS = Number(opt.events);

const hex = (n: number) => n.toString(16).padStart(2, '0');
const peer = (n: number, vtep = `192.0.2.${1 + (n % 8)}`): PeerEndpoint => ({
  host: `h${n % 8}`,
  endpointId: `e${n}`,
  vtep,
  mac: `02:42:0a:${hex((n >> 16) & 0xff)}:${hex((n >> 8) & 0xff)}:${hex(n & 0xff)}`,
  ip: `10.${(n >> 16) & 0xff}.${(n >> 8) & 0xff}.${n & 0xff}`,
});

/** Event `i` on a network of `size`: a new endpoint, a moved one, a removed one, in turn. */
const eventOf = (size: number, i: number): [string, PeerEndpoint | undefined] => {
  const n = i % 3 === 0 ? size + i : (i * 7919) % size;
  return [peerKey(peer(n)), i % 3 === 2 ? undefined : peer(n, `198.51.100.${i % 200}`)];
};

/** Microseconds per event, one sample per event. */
function time(size: number, apply: (key: string, p: PeerEndpoint | undefined) => unknown): number[] {
  const out: number[] = [];
  for (let i = 0; i < EVENTS; i++) {
    const [key, p] = eventOf(size, i);
    const t0 = performance.now();
    apply(key, p);
    out.push((performance.now() - t0) * 1000);
  }
  return out;
}

const rows = SIZES.map((size) => {
  const peers = new Map(Array.from({ length: size }, (_, n) => [peerKey(peer(n)), peer(n)] as const));
  const full = time(size, (key, p) => {
    const before = desiredEntries(peers.values());
    if (p) peers.set(key, p);
    else peers.delete(key);
    return [before, desiredEntries(peers.values())];
  });
  const entries = new PeerEntries(Array.from({ length: size }, (_, n) => peer(n)));
  const incremental = time(size, (key, p) => entries.set(key, p));
  const round = (v: number) => Math.round(v * 10) / 10;
  return {
    peers: size,
    full_p50_us: round(percentile(full, 50)),
    full_p99_us: round(percentile(full, 99)),
    incremental_p50_us: round(percentile(incremental, 50)),
    incremental_p99_us: round(percentile(incremental, 99)),
  };
});
printTable(`one peer event → entries to change (µs per event, ${EVENTS} events: add, move, remove)`, rows);
console.log(JSON.stringify({ bench: 'overlay-peers', events: EVENTS, rows }));
