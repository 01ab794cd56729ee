/**
 * @module What to release, pure: given what the plugins hold (each object with the time it was first
 * seen), what the reference knows and a cut-off, the endpoints, networks and volume mounts to release.
 * The rule is tsipam's ({@link isGarbage}): unknown to the reference and held since before the cut-off,
 * so a create still in flight, which the reference has not recorded yet, is never touched. Addresses
 * and pools are tsipam's own garbage collection (ipam/core/gc.ts) with the same reference and cut-off.
 */
import { isGarbage } from '../ipam/core/gc.js';
import type { Reference } from './reference.js';

/** What the plugins hold; `since` is an ISO time at or after which the object existed. */
export interface Holdings {
  networks: Array<{ id: string; since: string; endpoints: Array<{ id: string; joined: boolean; since: string }> }>;
  volumes: Array<{ name: string; mounts: Array<{ id: string; count: number; since: string }> }>;
}

export type Action =
  | { kind: 'endpoint'; networkId: string; endpointId: string; joined: boolean; reason: string }
  | { kind: 'network'; networkId: string; reason: string }
  | { kind: 'mount'; volume: string; mountId: string; count: number; reason: string };

export interface Decision {
  /** In order: endpoints before their network. */
  actions: Action[];
  /** Objects the reference does not know but that are too new to judge: a later pass looks again. */
  heldBack: number;
}

/**
 * Endpoints Docker does not know; every endpoint of a network it does not know, then the network; every
 * mount ID of a volume no live container uses. Nothing first seen at or after `cutoff`.
 */
export function decide(held: Holdings, ref: Reference, cutoff: string): Decision {
  const actions: Action[] = [];
  let heldBack = 0;
  const judge = (since: string, known: boolean): boolean => {
    if (known) return false;
    if (isGarbage(since, known, cutoff)) return true;
    heldBack++;
    return false;
  };
  for (const net of held.networks) {
    const netGone = judge(net.since, ref.networks.has(net.id));
    for (const ep of net.endpoints) {
      if (netGone || judge(ep.since, ref.endpoints.has(ep.id))) {
        const reason = netGone ? 'network unknown to the reference' : 'endpoint unknown to the reference';
        actions.push({ kind: 'endpoint', networkId: net.id, endpointId: ep.id, joined: ep.joined, reason });
      }
    }
    if (netGone) actions.push({ kind: 'network', networkId: net.id, reason: 'network unknown to the reference' });
  }
  for (const vol of held.volumes) {
    const inUse = ref.volumesInUse.has(vol.name);
    for (const m of vol.mounts) {
      if (judge(m.since, inUse)) actions.push({ kind: 'mount', volume: vol.name, mountId: m.id, count: m.count, reason: 'no live container uses the volume' });
    }
  }
  return { actions, heldBack };
}
