/**
 * @module The inputs of agreement and healing that are read from disk: engine-lite's records (its
 * reference when it has a state directory) and the names dockerd finds our sockets by (socket names in
 * the plugins directory, or spec files in /etc/docker/plugins that point at them).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_SPEC_DIRS, findPlugin, listPluginNames } from '../engine-lite/plugins/discovery.js';
import type { ContainerRecord, NetworkRecord } from '../engine-lite/state/records.js';
import { RecordDir } from '../engine-lite/state/store.js';

/** engine-lite's networks and containers; undefined when `dir` holds no engine-lite state. */
export async function readEngineLite(dir: string): Promise<{ networks: NetworkRecord[]; containers: ContainerRecord[] } | undefined> {
  if (!existsSync(join(dir, 'networks')) || !existsSync(join(dir, 'containers'))) return undefined;
  const [networks, containers] = await Promise.all([
    new RecordDir<NetworkRecord>('network', join(dir, 'networks')).list(),
    new RecordDir<ContainerRecord>('container', join(dir, 'containers'), 'config.json').list(),
  ]);
  return { networks, containers };
}

/** Every name under which a plugin socket of `sockets` is found (a spec file that cannot be read is skipped). */
export async function driverNamesOf(pluginsDir: string, sockets: readonly string[], specDirs: readonly string[] = DEFAULT_SPEC_DIRS): Promise<string[]> {
  const opts = { pluginsDir, specDirs };
  const names: string[] = [];
  for (const name of await listPluginNames(opts)) {
    const found = await findPlugin(name, opts).catch(() => undefined);
    if (found && sockets.includes(found.socket)) names.push(name);
  }
  return names;
}
