/**
 * @module The instance tag: a short name for one plugin instance, carried by the kernel objects it makes
 * (firewall tables and chains, marker MACs, interface names), so that instances sharing a host (tests,
 * several state directories) never take each other's objects for leftovers. Pure.
 */
import { createHash } from 'node:crypto';

/** 6 hex digits derived from the plugin's state directory: stable across restarts, distinct per directory. */
export function instanceTag(stateDir: string): string {
  return createHash('sha256').update(stateDir).digest('hex').slice(0, 6);
}
