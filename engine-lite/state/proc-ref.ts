/**
 * @module Naming a process so that a later command can tell whether it still runs: its pid plus its
 * start time (from /proc/PID/stat), which tells a live owner from a recycled pid.
 */
import { readFileSync } from 'node:fs';

/** A process, as recorded in state: the pid and the kernel's start time of that process. */
export interface ProcRef {
  pid: number;
  /** Field 22 of /proc/PID/stat (clock ticks since boot). */
  start: number;
}

/** Fields of /proc/PID/stat after the command name, or undefined when the process is gone. */
function statFields(pid: number): string[] | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may contain spaces and ")".
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/** The {@link ProcRef} of a live process, or undefined when there is none with that pid. */
export function procRef(pid: number): ProcRef | undefined {
  const f = statFields(pid);
  if (f === undefined || f[0] === 'Z') return undefined;
  return { pid, start: Number(f[19]) };
}

/** This process's own {@link ProcRef}. */
export function selfRef(): ProcRef {
  const ref = procRef(process.pid);
  if (!ref) throw new Error('cannot read /proc/self/stat');
  return ref;
}

/** Whether the process `ref` names still runs (same pid, same start time, not a zombie). */
export function isAlive(ref: ProcRef | undefined): boolean {
  if (!ref) return false;
  return procRef(ref.pid)?.start === ref.start;
}
