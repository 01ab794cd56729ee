/**
 * @module `exec`: a process in a running container's namespaces (through the init helper's join
 * mode), put in the container's cgroup before it runs, with the container's capabilities and
 * environment plus `-e`, in `-w` or the container's working directory.
 */
import { addProcess } from '../../common/kernel/cgroup.js';
import { launchInContainer } from '../../common/kernel/container-process.js';
import { EngineConflictError } from '../errors.js';
import type { ContainerRecord } from '../state/records.js';
import { isRunning } from './status.js';
import { processSecurity } from './security.js';
import { startError } from './start.js';

/** `exec` flags. */
export interface ExecRequest {
  command: string[];
  env: string[];
  workdir?: string;
  interactive: boolean;
  detach: boolean;
}

/**
 * Runs the command and resolves with its exit code (0 at once with `detach`).
 * @throws EngineConflictError when the container is not running; CommandStartError (126/127) when the
 * command cannot run.
 */
export async function execInContainer(c: ContainerRecord, req: ExecRequest): Promise<number> {
  if (!isRunning(c)) throw new EngineConflictError(`Container ${c.id} is not running`);
  const env = [...c.config.env];
  for (const e of req.env) {
    const key = e.split('=')[0];
    const entry = e.includes('=') ? e : process.env[e] === undefined ? undefined : `${e}=${process.env[e]}`;
    if (entry === undefined) continue;
    const i = env.findIndex((x) => x.split('=')[0] === key);
    if (i >= 0) env[i] = entry;
    else env.push(entry);
  }
  try {
    const l = await launchInContainer(
      {
        pid: c.state.pid,
        argv: req.command,
        env,
        workdir: req.workdir ?? c.config.workdir,
        ...processSecurity(c),
        ...(c.host.userns ? { userns: true } : {}),
      },
      { stdio: [req.interactive && !req.detach ? 'inherit' : 'ignore', req.detach ? 'ignore' : 'inherit', req.detach ? 'ignore' : 'inherit'], detached: req.detach },
    );
    try {
      await addProcess(c.cgroup, l.pid);
    } catch (err) {
      l.abort();
      throw err;
    }
    await l.start();
    if (req.detach) {
      l.waiter.unref();
      return 0;
    }
    return await l.exited;
  } catch (err) {
    throw startError(err);
  }
}
