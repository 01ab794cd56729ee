/**
 * @module Whether a container runs, from its record and the kernel's view of its PID 1. Kept apart
 * so that `ps`, `inspect` and `logs` load nothing else of the container code.
 */
import { isAlive } from '../state/proc-ref.js';
import type { ContainerRecord } from '../state/records.js';

/** Whether `c` is recorded as running and its PID 1 is alive. */
export const isRunning = (c: ContainerRecord) => c.state.status === 'running' && isAlive(c.state.init);

/** docker's State.Status for a record (a running record whose process is gone reads as exited). */
export function statusOf(c: ContainerRecord): string {
  if (c.state.status === 'running') return isRunning(c) ? 'running' : 'exited';
  return c.state.status;
}
