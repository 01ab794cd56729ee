/**
 * @module The suite's one way to read Docker (and, for healing, start a container): a thin wrapper on
 * dockerode for `tsnet serve`'s agreement and healing and `tsnet ipam gc`. Only the fields the suite reads
 * are typed. Never called from inside a plugin request: dockerd may be waiting on the plugin.
 */
import Docker from 'dockerode';
import { connectionOf } from './docker-host.js';

/** How long one API request may take before it counts as failed. */
const REQUEST_TIMEOUT_MS = 15_000;

/** A network as `GET /networks/{id}` answers (the list omits `Containers`). */
export interface DockerNetwork {
  Id: string;
  Name: string;
  Driver: string;
  IPAM?: { Driver?: string; Config?: Array<{ Subnet?: string; Gateway?: string; AuxiliaryAddresses?: Record<string, string> | null }> | null };
  /** Keyed by container ID, or `ep-<endpoint ID>` for an endpoint without a sandbox. */
  Containers?: Record<string, { EndpointID?: string; IPv4Address?: string; IPv6Address?: string }> | null;
}

/** A container as `GET /containers/{id}/json` answers. */
export interface DockerContainer {
  Id: string;
  Name: string;
  State: { Status: string; Running: boolean; Paused: boolean; Restarting: boolean; Error: string; FinishedAt: string };
  HostConfig: { RestartPolicy?: { Name?: string } };
  Mounts: Array<{ Type: string; Name?: string; Driver?: string }>;
  /** Per network (by name): the endpoint and what the name service serves for it. */
  NetworkSettings?: {
    Networks?: Record<string, { NetworkID?: string; EndpointID?: string; IPAddress?: string; GlobalIPv6Address?: string; Aliases?: string[] | null }> | null;
  };
}

/** One event of `GET /events`. */
export interface DockerEvent {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes?: Record<string, string> };
}

const isGone = (err: unknown) => (err as { statusCode?: number }).statusCode === 404;

/** Reads of one dockerd. */
export class DockerApi {
  readonly host: string;
  readonly #docker: Docker;
  readonly #streams: Docker;

  constructor(host: string) {
    this.host = host;
    const conn = connectionOf(host);
    this.#docker = new Docker({ ...conn, timeout: REQUEST_TIMEOUT_MS });
    this.#streams = new Docker(conn);
  }

  /** Whether dockerd answers `GET /_ping`. */
  async ping(): Promise<boolean> {
    try {
      await this.#docker.ping();
      return true;
    } catch {
      return false;
    }
  }

  /** Every network, inspected (one removed meanwhile is skipped: what it held is no longer in use). */
  async networks(): Promise<DockerNetwork[]> {
    const list = await this.#docker.listNetworks();
    return this.#inspectEach(list.map((n) => n.Id), (id) => this.#docker.getNetwork(id).inspect() as Promise<DockerNetwork>);
  }

  /** Every container, running or not, inspected (one removed meanwhile is skipped). */
  async containers(): Promise<DockerContainer[]> {
    const list = await this.#docker.listContainers({ all: true });
    return this.#inspectEach(list.map((c) => c.Id), (id) => this.#docker.getContainer(id).inspect() as Promise<DockerContainer>);
  }

  /**
   * The volumes of `drivers`, with their driver. Filtered by dockerd, which then asks only those
   * drivers: an unfiltered list asks every volume plugin it has ever used, and waits on each dead one.
   */
  async volumes(drivers: readonly string[]): Promise<Array<{ Name: string; Driver: string }>> {
    if (drivers.length === 0) return [];
    return (await this.#docker.listVolumes({ filters: { driver: [...drivers] } })).Volumes ?? [];
  }

  /** `docker start` of container `id`. */
  async start(id: string): Promise<void> {
    await this.#docker.getContainer(id).start();
  }

  /**
   * Streams events of the given types to `onEvent` until the stream ends or `signal` aborts.
   * Resolves once the stream is open with `ended`, a promise of its end (which rejects on a broken connection).
   */
  async events(
    types: ReadonlyArray<'network' | 'container' | 'volume'>,
    onEvent: (e: DockerEvent) => void,
    signal: AbortSignal,
  ): Promise<{ ended: Promise<void> }> {
    const stream = (await this.#streams.getEvents({ filters: { type: [...types] } })) as unknown as NodeJS.ReadableStream & { destroy(): void };
    const ended = new Promise<void>((resolve, reject) => {
      let buffered = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        buffered += chunk;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (line !== '') onEvent(JSON.parse(line) as DockerEvent);
        }
      });
      stream.on('end', resolve).on('close', resolve).on('error', reject);
      signal.addEventListener('abort', () => stream.destroy(), { once: true });
    });
    return { ended };
  }

  async #inspectEach<T>(ids: readonly string[], inspect: (id: string) => Promise<T>): Promise<T[]> {
    const all = await Promise.all(
      ids.map(async (id) => {
        try {
          return [await inspect(id)];
        } catch (err) {
          if (isGone(err)) return [];
          throw err;
        }
      }),
    );
    return all.flat();
  }
}
