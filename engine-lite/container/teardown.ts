/**
 * @module Everything a container holds, released in dockerd's order once its processes are gone:
 * kill what is left in its cgroup, detach its endpoints (last first), delete its network
 * namespace, unmount its volumes, remove its cgroup. Driven by the record alone, so it also cleans
 * up after a command or supervisor that was killed. Idempotent; failures are warnings.
 */
import { rm } from 'node:fs/promises';
import { cgroupExists, deleteCgroup, readOomKilled } from '../../common/kernel/cgroup.js';
import type { Engine } from '../engine.js';
import type { ContainerRecord } from '../state/records.js';

/** Saves the record of `c` (progress of a start or teardown); here, so that a teardown loads nothing of a start. */
export const persistFn = (engine: Engine, c: ContainerRecord) => () => engine.state.containers.put(c.id, c);

/** Kills the cgroup's processes and removes it; returns whether the OOM killer acted in it. */
async function killAndRemoveCgroup(engine: Engine, c: ContainerRecord): Promise<boolean> {
  if (!(await cgroupExists(c.cgroup))) return false;
  const oom = await readOomKilled(c.cgroup).then((n) => n > 0, () => false);
  await deleteCgroup(c.cgroup).catch((err: unknown) => engine.warn(`container ${c.name}: ${(err as Error).message}`));
  return oom;
}

async function detachNetworks(engine: Engine, c: ContainerRecord, persist: () => Promise<void>): Promise<void> {
  const { detachEndpoint } = await import('../network/endpoints.js');
  const { deleteNetns } = await import('../../common/kernel/netns.js');
  const netns = c.netns ?? '';
  const ctx = { engine, container: c, netns, sandboxKey: '', persist };
  for (const a of [...c.attachments].reverse()) {
    if (!(a.ipv4 || a.ipv6 || a.endpointCreated || a.joined)) continue;
    await detachEndpoint(ctx, a, await engine.state.networks.get(a.networkId));
  }
  if (c.netns) {
    await deleteNetns(c.netns).catch((err: unknown) => engine.warn(`container ${c.name}: ${(err as Error).message}`));
    delete c.netns;
    await persist();
  }
}

/** Releases what `c` holds (see module comment); returns whether the OOM killer acted. */
export async function teardown(engine: Engine, c: ContainerRecord): Promise<{ oomKilled: boolean }> {
  const persist = persistFn(engine, c);
  const oomKilled = await killAndRemoveCgroup(engine, c);
  if (c.netns || c.attachments.some((a) => a.ipv4 || a.ipv6 || a.endpointCreated)) await detachNetworks(engine, c, persist);
  if (c.mounts.some((m) => m.mountId !== undefined)) {
    const { unmountVolumes } = await import('../volume/container-mounts.js');
    await unmountVolumes(engine, c, persist);
  }
  return { oomKilled };
}

/**
 * Deletes a stopped container: its record, its directory (writable layer, logs, /etc files) and,
 * with `volumes`, its anonymous volumes.
 */
export async function deleteContainer(engine: Engine, c: ContainerRecord, volumes: boolean): Promise<void> {
  await engine.state.lock.run(async () => {
    await engine.state.containers.remove(c.id);
    await rm(engine.state.containerDir(c.id), { recursive: true, force: true });
  });
  if (!volumes || !c.mounts.some((m) => m.type === 'volume')) return;
  const { removeVolume } = await import('../volume/volumes.js');
  for (const m of c.mounts) {
    if (m.type !== 'volume' || !(await engine.state.volumes.get(m.source))?.anonymous) continue;
    await removeVolume(engine, m.source).catch((err: unknown) => engine.warn((err as Error).message));
  }
}

/**
 * Records the end of container `id`'s run after tearing it down: exit code, OOM flag, error;
 * removes it when it was started with `--rm`. The record is re-read first: other commands may have
 * connected networks meanwhile. Returns the final record (undefined once removed or gone).
 */
export async function finishContainer(engine: Engine, id: string, exitCode: number, error = ''): Promise<ContainerRecord | undefined> {
  const c = await engine.state.containers.get(id);
  if (!c) return undefined;
  const { oomKilled } = await teardown(engine, c);
  c.state = {
    status: c.state.startedAt === '' ? 'created' : 'exited',
    pid: 0,
    startedAt: c.state.startedAt,
    finishedAt: new Date().toISOString(),
    exitCode,
    oomKilled,
    error,
  };
  // A `--rm` container goes at once: its exit is not recorded on the way (were this command killed
  // in between, reconcile would tear it down again, which is idempotent, and remove it).
  if (!c.host.autoRemove) {
    await persistFn(engine, c)();
    return c;
  }
  await deleteContainer(engine, c, true);
  return undefined;
}
