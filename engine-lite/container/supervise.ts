/**
 * @module Running a container and watching it until it exits. In the foreground the `run` command
 * itself is the owner: the command's stdio is the container's and signals are passed on (docker's
 * --sig-proxy). With `-d` a supervisor process (`engine-lite … __supervise ID`, in its own session)
 * is started first, so that its start overlaps the creation and preparation of the container, and
 * told to go on over its standard input; it becomes the owner, launches the container with its
 * output going to log files, reports
 * `ok` or the start error to `run` over a pipe, then waits, and on exit releases the network and
 * volumes and records the exit code. If an owner is killed, the next command's reconcile does that.
 */
import { closeSync, openSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { cgroupProcsFiles } from '../../common/kernel/cgroup.js';
import { spawnInitHelper, startSelfDetached, type InitHelper } from '../../common/kernel/container-process.js';
import type { Engine } from '../engine.js';
import { CommandStartError, EngineError } from '../errors.js';
import { newId } from '../ids.js';
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
 * The supervisor's environment: this one without NODE_EXTRA_CA_CERTS. A supervisor talks to plugins
 * over unix sockets only, and Node reads and parses that bundle before running any code (~60 ms for
 * Debian's ca-certificates.crt on a 2-vCPU VM), while `run -d` waits for the supervisor.
 */
function supervisorEnv(): NodeJS.ProcessEnv {
  const { NODE_EXTRA_CA_CERTS: _, ...env } = process.env;
  return env;
}

/**
 * Runs a container detached: starts its supervisor first (so that its Node start overlaps the rest),
 * creates the container with `create(id)`, prepares it and lets the supervisor launch it; resolves
 * with the record once the container runs. The supervisor's own warnings (a plugin failing at
 * teardown, say) go to `supervisor.log` beside the container's logs.
 * @throws what `create` throws (nothing is left), CommandStartError when it could not start (the
 * supervisor has cleaned up).
 */
export async function runDetached(engine: Engine, create: (id: string) => Promise<ContainerRecord>): Promise<ContainerRecord> {
  const id = newId();
  const dir = engine.state.containerDir(id);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const sup = startSelfDetached([...engineArgs(engine), '__supervise', id, String(engine.self.pid), String(engine.self.start)], join(dir, 'supervisor.log'), supervisorEnv());
  let c: ContainerRecord;
  try {
    c = await create(id);
  } catch (err) {
    sup.cancel();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  try {
    await prepareOrFinish(engine, c);
  } catch (err) {
    sup.cancel();
    throw err;
  }
  const line = await sup.go();
  if (line === 'ok') return c;
  const m = line === undefined ? null : /^error (\d+) (.*)$/.exec(line);
  if (m) throw new CommandStartError(m[2]!, Number(m[1]));
  throw new EngineError(`the supervisor of container ${c.name} exited before the container started`);
}

/** Whether the first line on `input` is `go` (false at end of file). */
function awaitGo(input: Readable): Promise<boolean> {
  return new Promise((resolve) => {
    let buf = '';
    input.setEncoding('utf8');
    input.on('data', (d: string) => {
      buf += d;
      if (buf.includes('\n')) resolve(buf.startsWith('go\n'));
    });
    input.on('end', () => resolve(false)).on('error', () => resolve(false));
  });
}

/**
 * The body of a supervisor: takes the container over from `parent` (the `run -d` that spawned it),
 * launches it, reports on `report`, waits for the exit and finishes the container.
 */
export async function supervise(engine: Engine, id: string, parent: ProcRef, input: Readable, report: Writable): Promise<void> {
  const say = (line: string) => new Promise<void>((r) => report.end(`${line.replace(/\n/g, ' ')}\n`, () => r()));
  const logs = engine.state.containerLogs(id);
  const out = openSync(logs.stdout, 'a', 0o600);
  const err = openSync(logs.stderr, 'a', 0o600);
  // Perl starts while `run` prepares the container.
  const helper = spawnInitHelper({ stdio: ['ignore', out, err] });
  const go = await awaitGo(input);
  input.destroy();
  const c = go ? await takeOver(engine, id, parent) : undefined;
  if (!c) {
    helper.dispose();
    closeSync(out);
    closeSync(err);
    return go ? say('error 125 the container was taken over by another command before it started') : undefined;
  }
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

/** Makes this process the owner of container `id` if `parent` (its `run -d`, alive) still owns it. */
async function takeOver(engine: Engine, id: string, parent: ProcRef): Promise<ContainerRecord | undefined> {
  return engine.state.lock.run(async () => {
    const rec = await engine.state.containers.get(id);
    const owner = rec?.state.owner;
    if (!rec || owner?.pid !== parent.pid || owner.start !== parent.start || !isAlive(parent)) return undefined;
    rec.state.owner = engine.self;
    await engine.state.containers.put(id, rec);
    return rec;
  });
}
