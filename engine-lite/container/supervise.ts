/**
 * @module Running a container and watching it until it exits. In the foreground the `run` command
 * itself is the owner: the command's stdio is the container's and signals are passed on (docker's
 * --sig-proxy). With `-d` a supervisor process (`engine-lite … __supervise ID`, in its own session)
 * becomes the owner, launches the container with its output going to log files, reports
 * `ok` or the start error to `run` over a pipe, then waits, and on exit releases the network and
 * volumes and records the exit code. If an owner is killed, the next command's reconcile does that.
 */
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { cgroupProcsFiles } from '../../common/kernel/cgroup.js';
import { spawnInitHelper, spawnSelfDetached, type InitHelper } from '../../common/kernel/container-process.js';
import type { Engine } from '../engine.js';
import { CommandStartError, EngineError } from '../errors.js';
import { isAlive, type ProcRef } from '../state/proc-ref.js';
import type { ContainerRecord } from '../state/records.js';
import { launch, prepareContainer, startError } from './start.js';
import { finishContainer } from './teardown.js';

/** Signals a foreground `run` passes on to the container's PID 1. */
const PROXIED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/** Prepares `c`; on failure disposes of `helper` (if any), tears `c` down, records exit code 125 and rethrows. */
async function prepareOrFinish(engine: Engine, c: ContainerRecord, helper?: InitHelper): Promise<void> {
  try {
    await prepareContainer(engine, c, helper);
  } catch (err) {
    helper?.dispose();
    await finishContainer(engine, c.id, 125, (err as Error).message);
    throw err;
  }
}

/**
 * Runs `c` in the foreground and returns its exit code (128+N after signal N).
 * @throws CommandStartError or the preparation's error; the container is then torn down.
 */
export async function runAttached(engine: Engine, c: ContainerRecord): Promise<number> {
  const helper = spawnInitHelper({ stdio: [c.config.openStdin ? 'inherit' : 'ignore', 'inherit', 'inherit'] });
  await prepareOrFinish(engine, c, helper);
  let l;
  try {
    l = await launch(engine, c, helper);
  } catch (err) {
    const e = startError(err);
    await finishContainer(engine, c.id, e.exitCode, e.message);
    throw e;
  }
  const pid = l.pid;
  const forward = (sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  };
  for (const sig of PROXIED) process.on(sig, forward);
  const code = await l.exited;
  for (const sig of PROXIED) process.off(sig, forward);
  await finishContainer(engine, c.id, code);
  return code;
}

/** Global flags that give a supervisor the same view of the engine as its `run`. */
function engineArgs(engine: Engine): string[] {
  const o = engine.options;
  return ['--state-dir', engine.state.dir, '--plugins-dir', o.pluginsDir, '--plugin-timeout', String(o.pluginTimeoutMs / 1000)];
}

/**
 * Prepares `c` and hands it to a new supervisor process; resolves once the container runs.
 * @throws CommandStartError when it could not start (the supervisor has cleaned up).
 */
export async function runDetached(engine: Engine, c: ContainerRecord): Promise<void> {
  await prepareOrFinish(engine, c);
  const args = [...engineArgs(engine), '__supervise', c.id, String(engine.self.pid), String(engine.self.start)];
  // The supervisor's own warnings (a plugin failing at teardown, say) go to a file beside the logs.
  const line = await spawnSelfDetached(args, join(engine.state.containerDir(c.id), 'supervisor.log'));
  if (line === 'ok') return;
  const m = line === undefined ? null : /^error (\d+) (.*)$/.exec(line);
  if (m) throw new CommandStartError(m[2]!, Number(m[1]));
  throw new EngineError(`the supervisor of container ${c.name} exited before the container started`);
}

/**
 * The body of a supervisor: takes the container over from `parent` (the `run -d` that spawned it),
 * launches it, reports on `report`, waits for the exit and finishes the container.
 */
export async function supervise(engine: Engine, id: string, parent: ProcRef, report: Writable): Promise<void> {
  const say = (line: string) => new Promise<void>((r) => report.end(`${line.replace(/\n/g, ' ')}\n`, () => r()));
  const c = await engine.state.lock.run(async () => {
    const rec = await engine.state.containers.get(id);
    const owner = rec?.state.owner;
    if (!rec || owner?.pid !== parent.pid || owner.start !== parent.start || !isAlive(parent)) return undefined;
    rec.state.owner = engine.self;
    await engine.state.containers.put(id, rec);
    return rec;
  });
  if (!c) return say('error 125 the container was taken over by another command before it started');
  const logs = engine.state.containerLogs(id);
  const out = openSync(logs.stdout, 'a', 0o600);
  const err = openSync(logs.stderr, 'a', 0o600);
  const helper = spawnInitHelper({ stdio: ['ignore', out, err] });
  let l;
  try {
    helper.joinCgroups(await cgroupProcsFiles(c.cgroup));
    l = await launch(engine, c, helper);
  } catch (e) {
    helper.dispose();
    const se = startError(e);
    await finishContainer(engine, id, se.exitCode, se.message);
    return say(`error ${se.exitCode} ${se.message}`);
  } finally {
    closeSync(out);
    closeSync(err);
  }
  await say('ok');
  await finishContainer(engine, id, await l.exited);
}
