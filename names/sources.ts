/**
 * @module Where names come from: dockerd (container name, network aliases, short ID, per endpoint,
 * from `GET /containers/{id}/json` through docker-sync's client, which only inspect has: the list's
 * aliases are empty) and engine-lite (its container
 * records, read by docker-sync's reader). dockerd does not send names to network drivers, so this is
 * the only way to learn them. Each source gives {@link SourceName}s keyed by the endpoint the driver
 * holds; names that are not DNS names are left for the registry to skip (and warn about).
 * dockerd's containers are read through {@link DockerNames} and engine-lite's records through
 * {@link EngineLiteRecords}; each re-reads only the containers that changed since the last read.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LIVE_STATES, type DockerApi, type DockerContainer, type DockerContainerSummary } from '../docker-sync/docker-api.js';
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

/**
 * What dockerd's container list says of a container that its names depend on: its state, its name, and
 * the endpoint of each network (a new endpoint on connect also brings any new aliases and addresses).
 */
export function stampOf(c: DockerContainerSummary): string {
  const endpoints = Object.entries(c.NetworkSettings?.Networks ?? {}).map(([net, n]) => `${net}=${n.EndpointID ?? ''}`).sort();
  return JSON.stringify([c.State, c.Names, endpoints]);
}

/**
 * What a read of dockerd's names must inspect: the live containers of `list` (only those have names)
 * that `cached` (container ID → stamp) does not have with the same stamp; and which cached containers to
 * forget (gone, or no longer live). Pure.
 */
export function planDockerRead(cached: ReadonlyMap<string, string>, list: readonly DockerContainerSummary[]): { inspect: Array<{ id: string; stamp: string }>; drop: string[] } {
  const live = list.filter((c) => LIVE_STATES.has(c.State));
  const liveIds = new Set(live.map((c) => c.Id));
  return {
    inspect: live.flatMap((c) => {
      const stamp = stampOf(c);
      return cached.get(c.Id) === stamp ? [] : [{ id: c.Id, stamp }];
    }),
    drop: [...cached.keys()].filter((id) => !liveIds.has(id)),
  };
}

/**
 * The names of dockerd's containers, with the inspects cached: a read lists the containers and inspects
 * only those that are new or changed ({@link planDockerRead}), so its cost follows what changed, not how
 * many containers the host has.
 */
export class DockerNames {
  readonly #api: Pick<DockerApi, 'containerList' | 'inspectContainers'>;
  /** Container ID → the list's stamp when it was inspected, and its names. */
  readonly #cache = new Map<string, { stamp: string; names: SourceName[] }>();

  constructor(api: Pick<DockerApi, 'containerList' | 'inspectContainers'>) {
    this.#api = api;
  }

  /** The names of every running container now. */
  async read(): Promise<SourceName[]> {
    const stamps = new Map([...this.#cache].map(([id, e]) => [id, e.stamp]));
    const { inspect, drop } = planDockerRead(stamps, await this.#api.containerList());
    for (const id of drop) this.#cache.delete(id);
    const found = new Map((await this.#api.inspectContainers(inspect.map((c) => c.id))).map((c) => [c.Id, c]));
    for (const { id, stamp } of inspect) {
      const c = found.get(id);
      // One removed between the list and its inspect is gone from the next list too.
      if (c) this.#cache.set(id, { stamp, names: namesOfDocker([c]) });
      else this.#cache.delete(id);
    }
    return [...this.#cache.values()].flatMap((e) => e.names);
  }
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
