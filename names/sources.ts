/**
 * @module Where names come from: dockerd (container name, network aliases, short ID, per endpoint,
 * from `GET /containers/{id}/json` through docker-sync's client) and engine-lite (its container
 * records, read by docker-sync's reader). dockerd does not send names to network drivers, so this is
 * the only way to learn them. Each source gives {@link SourceName}s keyed by the endpoint the driver
 * holds; names that are not DNS names are left for the registry to skip (and warn about).
 * engine-lite's records are read through {@link EngineLiteRecords}, which re-reads only the records that
 * changed since the last read.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { DockerContainer } from '../docker-sync/docker-api.js';
import type { ContainerRecord } from '../engine-lite/state/records.js';
import { RecordDir } from '../engine-lite/state/store.js';
import { plainAddress } from './records.js';

/** The names of one endpoint as a source knows them (raw, not yet checked). */
export interface SourceName {
  networkId: string;
  endpointId: string;
  containerId: string;
  /** Container name first, then aliases, then the short ID. */
  names: string[];
  ipv4?: string;
  ipv6?: string;
}

const SHORT_ID = 12;

function entry(networkId: string, endpointId: string, containerId: string, names: string[], ipv4?: string, ipv6?: string): SourceName {
  return {
    networkId,
    endpointId,
    containerId,
    names: [...new Set([...names, containerId.slice(0, SHORT_ID)])],
    ...(ipv4 !== undefined && { ipv4 }),
    ...(ipv6 !== undefined && { ipv6 }),
  };
}

/** The names of dockerd's running containers, one per endpoint. */
export function namesOfDocker(containers: readonly DockerContainer[]): SourceName[] {
  return containers.flatMap((c) => {
    if (!c.State.Running) return [];
    const name = c.Name.replace(/^\//, '');
    return Object.values(c.NetworkSettings?.Networks ?? {}).flatMap((n) =>
      n.EndpointID && n.NetworkID
        ? [entry(n.NetworkID, n.EndpointID, c.Id, [name, ...(n.Aliases ?? [])], plainAddress(n.IPAddress), plainAddress(n.GlobalIPv6Address))]
        : [],
    );
  });
}

/** The names of engine-lite's containers that have joined a network (running or being started). */
export function namesOfEngineLite(containers: readonly ContainerRecord[]): SourceName[] {
  return containers.flatMap((c) =>
    c.attachments.flatMap((a) => (a.joined && a.endpointId !== '' ? [entry(a.networkId, a.endpointId, c.id, [c.name, ...a.aliases], plainAddress(a.ipv4), plainAddress(a.ipv6))] : [])),
  );
}

/**
 * engine-lite's container records in a state directory, read again only when a record's file changed:
 * engine-lite replaces a record by renaming a new file over it, so its inode, size or modification time
 * differ. A read then costs a directory listing and one `stat` per container, plus reading the records
 * that changed (the one whose Join just came, usually), instead of reading and parsing every record.
 */
export class EngineLiteRecords {
  readonly #dir: RecordDir<ContainerRecord>;
  /** Directory entry → the record and the file's stamp when it was read. */
  readonly #cache = new Map<string, { stamp: string; record: ContainerRecord }>();

  constructor(stateDir: string) {
    this.#dir = new RecordDir('container', join(stateDir, 'containers'), 'config.json');
  }

  /** Every container record (none when the directory holds no engine-lite state). */
  async containers(): Promise<ContainerRecord[]> {
    const stems = await readdir(this.#dir.dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [];
      throw err;
    });
    const present = new Set(stems);
    for (const stem of this.#cache.keys()) if (!present.has(stem)) this.#cache.delete(stem);
    await Promise.all(
      stems.map(async (stem) => {
        const key = decodeURIComponent(stem);
        const st = await stat(this.#dir.path(key)).catch(() => undefined);
        const stamp = st && `${st.ino}:${st.size}:${st.mtimeMs}`;
        if (stamp !== undefined && this.#cache.get(stem)?.stamp === stamp) return;
        // Read after the stat: a record replaced in between is read again next time (its stamp changed).
        const record = stamp === undefined ? undefined : await this.#dir.get(key);
        if (record) this.#cache.set(stem, { stamp: stamp!, record });
        else this.#cache.delete(stem);
      }),
    );
    return [...this.#cache.values()].map((c) => c.record);
  }
}
