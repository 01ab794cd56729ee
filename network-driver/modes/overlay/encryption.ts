/**
 * @module Encrypted overlays, the pure part: the key ring a network shares through etcd, the SPIs, and
 * the xfrm states and policies a host must have for its peers. Per pair of VTEPs and direction one ESP
 * state per key in the ring inbound (so a host accepts the old and the new key across a switch) and
 * one outbound, of the active key; per remote VTEP one policy out and one in, selecting UDP to the
 * network's VXLAN port between the two VTEP addresses (the port is what tells networks apart: an
 * encrypted overlay has a port of its own in the cluster, see cluster.ts). Below those, two catch-all
 * block policies drop this port's UDP to and from any other address, so no frame of the network ever
 * leaves in clear, nor is taken in clear, not even while a new peer's entries are being programmed.
 * reqid = REQID_BASE | VNI.
 *
 * The switch to a new key needs no acknowledgements: a key is published with `activeFrom` a few
 * seconds ahead (KEY_LEAD_MS); every host installs its inbound states as soon as it reads it, and only
 * from `activeFrom` sends with it. The old key stays inbound for KEY_GRACE_MS after that, then goes.
 * Hosts' clocks must agree to within the lead (NTP does far better).
 */
import { createHash, randomBytes } from 'node:crypto';
import { AEAD_KEY_BYTES, REQID_BASE, type XfrmChange, type XfrmPolicy, type XfrmState } from '../../../common/kernel/xfrm.js';

/** How far ahead of its use a new key is published. */
export const KEY_LEAD_MS = 5_000;
/** How long a replaced key is still accepted inbound. */
export const KEY_GRACE_MS = 30_000;

/** One key of a ring. */
export interface RingKey {
  /** Generation, counting up from 1. */
  gen: number;
  /** Hex, AEAD_KEY_BYTES bytes (AES-256 key and GCM salt). */
  key: string;
  /** When hosts start sending with it (ms since the epoch). */
  activeFrom: number;
}

/** What `/tsnet/v1/overlay/keys/<vni>` holds; keys in generation order. */
export interface KeyRing {
  keys: RingKey[];
}

export const reqidOf = (vni: number) => (REQID_BASE | vni) >>> 0;

/** A fresh key of generation `gen`, used from `activeFrom`. */
export function newKey(gen: number, activeFrom: number): RingKey {
  return { gen, key: randomBytes(AEAD_KEY_BYTES).toString('hex'), activeFrom };
}

/** The key hosts send with at `now`: the newest already active (the first one before any is). */
export function activeKey(ring: KeyRing, now: number): RingKey | undefined {
  return ring.keys.filter((k) => k.activeFrom <= now).at(-1) ?? ring.keys[0];
}

/** The ring with a new key rolled in at `now + KEY_LEAD_MS` and keys replaced more than KEY_GRACE_MS ago dropped. */
export function rolled(ring: KeyRing, now: number): KeyRing {
  const last = ring.keys.at(-1);
  return { keys: [...pruned(ring, now).keys, newKey((last?.gen ?? 0) + 1, now + KEY_LEAD_MS)] };
}

/** The ring without keys whose successor has been active for more than KEY_GRACE_MS. */
export function pruned(ring: KeyRing, now: number): KeyRing {
  return { keys: ring.keys.filter((k, i) => !(ring.keys[i + 1] && ring.keys[i + 1]!.activeFrom + KEY_GRACE_MS <= now)) };
}

/**
 * The SPI of one key between two VTEPs: a hash of the key and the direction, so the two hosts agree
 * without talking, and SPIs differ per pair, direction and key. Never below 256 (reserved).
 */
export function spiOf(key: RingKey, src: string, dst: string): number {
  const h = createHash('sha256').update(`${key.gen}/${key.key}/${src}/${dst}`).digest();
  return (h.readUInt32BE(0) | 0x100) >>> 0;
}

/** Everything one host must have for one encrypted network at `now`. */
export function desiredXfrm(seg: { vni: number; port: number; local: string; remotes: Iterable<string>; ring: KeyRing }, now: number): { states: Array<XfrmState & { key: string }>; policies: XfrmPolicy[] } {
  const reqid = reqidOf(seg.vni);
  const active = activeKey(seg.ring, now);
  const states: Array<XfrmState & { key: string }> = [];
  const policies: XfrmPolicy[] = [];
  const { local, port: dport } = seg;
  const any = local.includes(':') ? '::/0' : '0.0.0.0/0';
  policies.push({ src: local, dst: any, dport, dir: 'out', reqid, block: true }, { src: any, dst: local, dport, dir: 'in', reqid, block: true });
  for (const remote of new Set(seg.remotes)) {
    for (const k of seg.ring.keys) states.push({ src: remote, dst: local, spi: spiOf(k, remote, local), reqid, key: k.key });
    if (active) states.push({ src: local, dst: remote, spi: spiOf(active, local, remote), reqid, key: active.key });
    policies.push({ src: local, dst: remote, dport, dir: 'out', reqid }, { src: remote, dst: local, dport, dir: 'in', reqid });
  }
  return { states, policies };
}

const stateId = (s: XfrmState) => `${s.src} ${s.dst} ${s.spi}`;
const policyId = (p: XfrmPolicy) => `${p.src} ${p.dst} ${p.dport} ${p.dir}${p.block ? ' block' : ''}`;

/**
 * The changes from what the kernel has (of this reqid) to what is wanted, in a lossless order: new
 * inbound states, then policies, then new outbound states (the kernel sends with the newest), then
 * removals of policies and states no longer wanted.
 */
export function xfrmChanges(have: { states: XfrmState[]; policies: XfrmPolicy[] }, want: ReturnType<typeof desiredXfrm>, reqid: number, local: string): XfrmChange[] {
  const haveS = new Set(have.states.filter((s) => s.reqid === reqid).map(stateId));
  const haveP = new Map(have.policies.filter((p) => p.reqid === reqid).map((p) => [policyId(p), p]));
  const wantS = new Set(want.states.map(stateId));
  const wantP = new Set(want.policies.map(policyId));
  const added = want.states.filter((s) => !haveS.has(stateId(s)));
  return [
    ...added.filter((s) => s.dst === local).map((state): XfrmChange => ({ add: 'state', state })),
    ...want.policies.filter((p) => !haveP.has(policyId(p))).map((policy): XfrmChange => ({ add: 'policy', policy })),
    ...added.filter((s) => s.dst !== local).map((state): XfrmChange => ({ add: 'state', state })),
    ...[...haveP].filter(([id]) => !wantP.has(id)).map(([, policy]): XfrmChange => ({ del: 'policy', policy })),
    ...have.states.filter((s) => s.reqid === reqid && !wantS.has(stateId(s))).map((state): XfrmChange => ({ del: 'state', state })),
  ];
}
