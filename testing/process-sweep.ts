/**
 * @module Finds and kills the processes that belong to one test fixture: those whose command line names
 * its folder, and those living in one of its network namespaces (whatever their command line). The last
 * step of a teardown, after the graceful ones, so nothing of the fixture outlives it.
 */
import { stat } from 'node:fs/promises';
import { netnsPath } from '../common/kernel/netns.js';
import { isGone, listProcesses } from './leak-check.js';
import { pollUntil } from './system.js';

/** A process found by {@link fixtureProcesses}. */
export interface FixtureProcess {
  pid: number;
  argv: string[];
}

/** Processes (never this one) whose argv mentions `dir`, or whose network namespace is one of `netns`. */
export async function fixtureProcesses(dir: string, netns: readonly string[]): Promise<FixtureProcess[]> {
  const inodes = new Set<number>();
  for (const ns of netns) {
    const st = await stat(netnsPath(ns)).catch(() => undefined);
    if (st) inodes.add(st.ino);
  }
  const found: FixtureProcess[] = [];
  for (const p of await listProcesses()) {
    if (p.pid === process.pid || (await isGone(p.pid))) continue;
    const netIno = inodes.size === 0 ? undefined : (await stat(`/proc/${p.pid}/ns/net`).catch(() => undefined))?.ino;
    if (p.argv.some((a) => a.includes(dir)) || (netIno !== undefined && inodes.has(netIno))) found.push(p);
  }
  return found;
}

/** SIGKILLs every {@link fixtureProcesses} match and waits up to 5 s for each; returns what it killed. */
export async function killFixtureProcesses(dir: string, netns: readonly string[]): Promise<FixtureProcess[]> {
  const found = await fixtureProcesses(dir, netns);
  for (const { pid } of found) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const { pid, argv } of found) {
    if (!(await pollUntil(() => isGone(pid), { timeoutMs: 5_000, intervalMs: 50 }))) throw new Error(`pid ${pid} (${argv.join(' ')}) survives SIGKILL`);
  }
  return found;
}
