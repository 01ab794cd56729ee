/**
 * @module The stored record of one volume (collection `volumes`, keyed by name) and the counting
 * rules on it. A Create that makes kernel objects writes its record first (`state: creating`), so a
 * restart can undo a half-done one; mount counts are written on every Mount and Unmount.
 */
import type { VolumeSpec } from './options.js';

/** Name of the store collection holding {@link VolumeRecord}s. */
export const VOLUMES_COLLECTION = 'volumes';

/** Something outside Docker holding the volume open, e.g. `tsnet volume export`. */
export interface Lease {
  /** Process that took it; the lease ends when that process is gone. */
  pid: number;
  purpose: 'export' | 'import';
  /** RFC 3339. */
  since: string;
}

/** One volume as stored, version 1. */
export interface VolumeRecord {
  v: 1;
  name: string;
  /** `creating`: written before a Create that makes kernel objects; found at start, the Create is undone. */
  state: 'creating' | 'ready';
  spec: VolumeSpec;
  /** The options as given, for Status (redacted when shown). */
  options: Record<string, string>;
  /** RFC 3339. */
  createdAt: string;
  /** `/proc/sys/kernel/random/boot_id` when the counts below were last true. */
  bootId: string;
  /** Mount ID → how many Mounts minus Unmounts with that ID (dockerd repeats IDs, §4.3). */
  mounts: Record<string, number>;
  /** IDs that were mounted before a reboot: their Unmount is accepted once, and changes nothing. */
  staleMounts: string[];
  /** Lease ID → lease. */
  leases: Record<string, Lease>;
}

/** Sum of the container mount counts. */
export function mountCount(rec: VolumeRecord): number {
  return Object.values(rec.mounts).reduce((a, b) => a + b, 0);
}

/** Container mounts plus leases: while above 0, a tmpfs stays mounted and Remove is refused. */
export function usersOf(rec: VolumeRecord): number {
  return mountCount(rec) + Object.keys(rec.leases).length;
}

/** "2 container mounts and 1 export", for messages. */
export function describeUsers(rec: VolumeRecord): string {
  const parts: string[] = [];
  const n = mountCount(rec);
  if (n > 0) parts.push(`${n} container mount${n === 1 ? '' : 's'}`);
  for (const purpose of ['export', 'import'] as const) {
    const k = Object.values(rec.leases).filter((l) => l.purpose === purpose).length;
    if (k > 0) parts.push(`${k} ${purpose}${k === 1 ? '' : 's'}`);
  }
  return parts.join(' and ') || 'nothing';
}

/**
 * Deletes from `rec`, in place, the leases whose process `alive` says is gone.
 * @returns the leases dropped.
 */
export function dropDeadLeases(rec: VolumeRecord, alive: (pid: number) => boolean): Array<[string, Lease]> {
  const dead = Object.entries(rec.leases).filter(([, lease]) => !alive(lease.pid));
  for (const [id] of dead) delete rec.leases[id];
  return dead;
}
