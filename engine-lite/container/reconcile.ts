/**
 * @module Recovery at the start of every command (engine-lite has no daemon to notice deaths): a
 * container whose owner (the `run` command or its supervisor) died is stopped and torn down from
 * its record, and recorded as exited (137), or removed if it had `--rm`; a container whose set-up
 * was interrupted is torn down and left `created`. Leftover kernel and plugin-side objects are found
 * through the records, which always name them before they are made. Teardown code is loaded only
 * when there is something to do: this runs before every command.
 */
import type { Engine } from '../engine.js';
import { isAlive } from '../state/proc-ref.js';

/** Exit code recorded when the owner died with the container (docker's for SIGKILL). */
const OWNER_DIED_EXIT = 137;

/** Takes over and finishes every container whose owner is gone. */
export async function reconcileContainers(engine: Engine): Promise<void> {
  for (const c of await engine.state.containers.list()) {
    if (c.state.owner === undefined || isAlive(c.state.owner)) continue;
    const taken = await engine.state.lock.run(async () => {
      const now = await engine.state.containers.get(c.id);
      if (!now?.state.owner || isAlive(now.state.owner)) return false;
      now.state.owner = engine.self;
      await engine.state.containers.put(now.id, now);
      return true;
    });
    if (!taken) continue;
    const { finishContainer } = await import('./teardown.js');
    const running = c.state.status === 'running';
    await finishContainer(engine, c.id, running ? OWNER_DIED_EXIT : 125, running ? 'its supervisor died' : 'its set-up was interrupted');
  }
}
