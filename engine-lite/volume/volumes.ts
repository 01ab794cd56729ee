/**
 * @module Volumes, the daemon side (docs/plugin-protocol.md §4.2): `volume create` asks the driver `Get`
 * first and `Create`s only when that fails; `ls` merges engine-lite's records with every volume
 * driver's `List`; `inspect` is `Get`; `rm` is refused while a container references the volume, then
 * `Remove`. Names are the driver's to judge: dockerd checks them only for its `local` driver, so a
 * name the driver refuses gets the driver's own message (the state keeps names %-escaped).
 */
import type { VolumeInfo, VolumeResponses } from '../../common/protocol/volume-api.js';
import { DEFAULT_DRIVERS, type Engine } from '../engine.js';
import { EngineConflictError, EngineNotFoundError } from '../errors.js';
import { newId } from '../ids.js';
import type { VolumeRecord } from '../state/records.js';

/** `volume create` flags. */
export interface VolumeCreateRequest {
  name?: string;
  driver?: string;
  options: Record<string, string>;
  labels: Record<string, string>;
  anonymous?: boolean;
}

/**
 * Returns the volume, creating it through its driver if engine-lite does not know it: `Get`, and
 * `Create` (with `Opts`, or null when none were given) only when `Get` fails or finds nothing.
 * @throws EngineConflictError when it exists with another driver; EngineNotFoundError for an unknown driver;
 * PluginFailedError.
 */
export async function ensureVolume(engine: Engine, req: VolumeCreateRequest): Promise<VolumeRecord> {
  const name = req.name || newId(); // dockerd makes up a name for "" too
  const driverName = req.driver ?? DEFAULT_DRIVERS.volume;
  const known = await engine.state.volumes.get(name);
  if (known) {
    if (req.driver !== undefined && known.driver !== req.driver) {
      throw new EngineConflictError(`volume ${name} already exists with driver ${known.driver}, not ${req.driver}`);
    }
    return known;
  }
  const driver = await engine.plugins.get(driverName, 'VolumeDriver');
  const found = await driver.call<VolumeResponses['Get']>('VolumeDriver.Get', { Name: name }).catch(() => undefined);
  if (!found?.Volume) {
    const opts = Object.keys(req.options).length > 0 ? req.options : null;
    await driver.call('VolumeDriver.Create', { Name: name, Opts: opts });
  }
  const rec: VolumeRecord = {
    v: 1,
    name,
    driver: driverName,
    created: found?.Volume?.CreatedAt ?? new Date().toISOString(),
    options: req.options,
    labels: req.labels,
    anonymous: req.anonymous ?? false,
  };
  await engine.state.volumes.put(name, rec);
  return rec;
}

/**
 * The volume `name`: engine-lite's record, else the first volume driver whose `Get` knows it (the
 * volume is then recorded).
 * @throws EngineNotFoundError
 */
async function findVolume(engine: Engine, name: string): Promise<VolumeRecord> {
  const known = await engine.state.volumes.get(name);
  if (known) return known;
  for (const driver of await engine.plugins.all('VolumeDriver', (m) => engine.warn(m))) {
    const r = await driver.call<VolumeResponses['Get']>('VolumeDriver.Get', { Name: name }).catch(() => undefined);
    if (r?.Volume) return ensureVolume(engine, { name, driver: driver.name, options: {}, labels: {} });
  }
  throw new EngineNotFoundError(`No such volume: ${name}`);
}

/** One row of `volume ls`. */
export interface VolumeListing {
  name: string;
  driver: string;
}

/** engine-lite's volumes plus what every volume driver's `List` reports. */
export async function listVolumes(engine: Engine): Promise<VolumeListing[]> {
  const rows = new Map<string, VolumeListing>();
  for (const v of await engine.state.volumes.list()) rows.set(v.name, { name: v.name, driver: v.driver });
  for (const driver of await engine.plugins.all('VolumeDriver', (m) => engine.warn(m))) {
    try {
      const r = await driver.call<VolumeResponses['List']>('VolumeDriver.List', {});
      for (const v of r.Volumes ?? []) if (!rows.has(v.Name)) rows.set(v.Name, { name: v.Name, driver: driver.name });
    } catch (err) {
      engine.warn((err as Error).message);
    }
  }
  return [...rows.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** `volume inspect` in docker's shape, from the record and the driver's `Get` (and `Capabilities` for the scope). */
export async function inspectVolume(engine: Engine, name: string): Promise<Record<string, unknown>> {
  const v = await findVolume(engine, name);
  const driver = await engine.plugins.get(v.driver, 'VolumeDriver');
  const info: VolumeInfo = (await driver.call<VolumeResponses['Get']>('VolumeDriver.Get', { Name: v.name })).Volume;
  let mountpoint = info.Mountpoint;
  if (!mountpoint) mountpoint = (await driver.call<VolumeResponses['Path']>('VolumeDriver.Path', { Name: v.name }).catch(() => ({ Mountpoint: '' }))).Mountpoint;
  const caps = await driver.call<VolumeResponses['Capabilities']>('VolumeDriver.Capabilities', {}).catch(() => undefined);
  const scope = caps?.Capabilities?.Scope?.toLowerCase() === 'global' ? 'global' : 'local';
  return {
    CreatedAt: info.CreatedAt ?? v.created,
    Driver: v.driver,
    Labels: v.labels,
    Mountpoint: mountpoint,
    Name: v.name,
    Options: v.options,
    Scope: scope,
    ...(info.Status ? { Status: info.Status } : {}),
  };
}

/**
 * Removes a volume through its driver. Refused while any container (running or not) references it.
 * @throws EngineNotFoundError, EngineConflictError, PluginFailedError (the volume is then kept).
 */
export async function removeVolume(engine: Engine, name: string): Promise<void> {
  const v = await findVolume(engine, name);
  await engine.state.lock.run(async () => {
    const users = (await engine.state.containers.list()).filter((c) => c.mounts.some((m) => m.type === 'volume' && m.source === v.name));
    if (users.length > 0) throw new EngineConflictError(`remove ${v.name}: volume is in use - [${users.map((c) => c.id).join(', ')}]`);
    const driver = await engine.plugins.get(v.driver, 'VolumeDriver');
    await driver.call('VolumeDriver.Remove', { Name: v.name });
    await engine.state.volumes.remove(v.name);
  });
}
