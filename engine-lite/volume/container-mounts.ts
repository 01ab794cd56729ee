/**
 * @module A container's volumes at start and stop (docs/plugin-protocol.md §4.3): `Mount` with a fresh
 * random 64-hex ID per mount (not the container ID), recorded before the call, then the returned
 * path is bind-mounted into the container; `Unmount` with the same ID when it stops.
 */
import type { VolumeResponses } from '../../common/protocol/volume-api.js';
import type { Engine } from '../engine.js';
import { PluginFailedError } from '../errors.js';
import { newId } from '../ids.js';
import type { ContainerRecord } from '../state/records.js';

/** Mounts every volume of `c`, saving progress with `persist`. @throws PluginFailedError */
export async function mountVolumes(engine: Engine, c: ContainerRecord, persist: () => Promise<void>): Promise<void> {
  for (const m of c.mounts) {
    if (m.type !== 'volume') continue;
    const driver = await engine.plugins.get(m.driver!, 'VolumeDriver');
    m.mountId = newId();
    await persist();
    const r = await driver.call<VolumeResponses['Mount']>('VolumeDriver.Mount', { Name: m.source, ID: m.mountId });
    if (!r.Mountpoint?.startsWith('/')) throw new PluginFailedError(m.driver!, `Mount of ${m.source} returned no absolute Mountpoint ("${r.Mountpoint ?? ''}")`);
    m.mountpoint = r.Mountpoint;
    await persist();
  }
}

/** Unmounts every volume of `c` that was mounted; failures are warnings. Idempotent. */
export async function unmountVolumes(engine: Engine, c: ContainerRecord, persist: () => Promise<void>): Promise<void> {
  for (const m of [...c.mounts].reverse()) {
    if (m.type !== 'volume' || m.mountId === undefined) continue;
    try {
      const driver = await engine.plugins.get(m.driver!, 'VolumeDriver');
      await driver.call('VolumeDriver.Unmount', { Name: m.source, ID: m.mountId });
    } catch (err) {
      engine.warn(`volume ${m.source}: ${(err as Error).message}`);
    }
    delete m.mountId;
    delete m.mountpoint;
    await persist();
  }
}
