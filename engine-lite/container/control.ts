/**
 * @module `stop`, `kill` and `rm` of containers whose owner (a `run` or a supervisor) may be another
 * process: signals go to the container's PID 1 (checked against its recorded start time, so a
 * recycled pid is never hit), then we wait for the owner to record the exit. An owner that died is
 * replaced by reconcile.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Engine } from '../engine.js';
import { EngineConflictError, EngineError } from '../errors.js';
import { isAlive } from '../state/proc-ref.js';
import type { ContainerRecord } from '../state/records.js';
import { resolveRef } from '../state/store.js';
import { reconcileContainers } from './reconcile.js';
import { isRunning } from './status.js';
import { deleteContainer } from './teardown.js';

/** The container `ref` names (ID, name, unique ID prefix). @throws EngineNotFoundError */
export async function findContainer(engine: Engine, ref: string): Promise<ContainerRecord> {
  return resolveRef(await engine.state.containers.list(), ref, 'container');
}

/** Sends `signal` (name like `SIGTERM`/`TERM`, or number) to the container's PID 1. Returns false when it is not running. */
function signalContainer(c: ContainerRecord, signal: string | number): boolean {
  if (!isRunning(c)) return false;
  const sig = typeof signal === 'number' || /^\d+$/.test(signal) ? Number(signal) : (`SIG${signal.toUpperCase().replace(/^SIG/, '')}` as NodeJS.Signals);
  try {
    process.kill(c.state.pid, sig);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw new EngineError(`cannot signal container ${c.name}: ${(err as Error).message}`);
  }
}

// A poll is one /proc read or one small JSON read: polling often costs little, and `stop` or
// `rm -f` returns within a few ms of the supervisor finishing the container.
const POLL_MS = 5;

/** Waits until `c`'s PID 1 is gone; false after `timeoutMs`. */
async function waitInitGone(c: ContainerRecord, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(c.state.init)) {
    if (Date.now() >= deadline) return false;
    await sleep(POLL_MS);
  }
  return true;
}

/**
 * Waits until the owner has recorded the exit of `id` (or removed it); reconciles if the owner
 * died. Resolves with the final record, or undefined once it is gone.
 */
async function waitFinished(engine: Engine, id: string): Promise<ContainerRecord | undefined> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const c = await engine.state.containers.get(id);
    if (!c || c.state.status !== 'running') return c;
    if (!isAlive(c.state.owner)) {
      await reconcileContainers(engine);
      continue;
    }
    if (Date.now() >= deadline) throw new EngineError(`container ${c.name} did not finish stopping within 120 s`);
    await sleep(POLL_MS);
  }
}

/**
 * `stop`: the stop signal, then SIGKILL after `timeoutS` seconds (the container's own stop timeout
 * when undefined); resolves once the exit is recorded. A stopped container is left alone.
 */
export async function stopContainer(engine: Engine, c: ContainerRecord, timeoutS?: number): Promise<void> {
  if (signalContainer(c, c.config.stopSignal)) {
    const t = timeoutS ?? c.config.stopTimeout;
    if (!(await waitInitGone(c, Math.max(0, t) * 1000))) signalContainer(c, 'SIGKILL');
  }
  await waitFinished(engine, c.id);
}

/**
 * `kill -s SIGNAL`. @throws EngineConflictError when the container is not running.
 */
export function killContainer(c: ContainerRecord, signal: string): void {
  if (!signalContainer(c, signal)) throw new EngineConflictError(`Container ${c.id} is not running`);
}

/**
 * `rm [-f] [-v]`: refuses a running container without `force`; with it, kills the container and
 * waits for its owner to release everything first.
 * @throws EngineConflictError
 */
export async function removeContainer(engine: Engine, c: ContainerRecord, opts: { force: boolean; volumes: boolean }): Promise<void> {
  let rec: ContainerRecord | undefined = c;
  if (c.state.status === 'running' || (c.state.status === 'created' && isAlive(c.state.owner))) {
    if (!opts.force) {
      throw new EngineConflictError(`You cannot remove a running container ${c.id}. Stop the container before attempting removal or force remove`);
    }
    signalContainer(c, 'SIGKILL');
    rec = await waitFinished(engine, c.id);
  }
  if (rec) await deleteContainer(engine, rec, opts.volumes);
}
