/**
 * @module The suite's one way to read Docker (and, for healing, start a container): a thin wrapper on
 * dockerode for `tsnet serve`'s agreement, healing and names, `tsnet doctor` and `tsnet ipam gc`. Only the
 * fields the suite reads are typed. Never called from inside a plugin request: dockerd may be waiting on
 * the plugin. Reads cost what can concern the suite, not the host's size: networks are listed and only
 * those that can be ours inspected ({@link mayBeOurs}); containers are listed ({@link DockerContainerSummary})
 * and inspected only by ID, a few at a time. With a registry, each request to dockerd is counted
 * (`tsnet_dockerd_requests_total{request}`).
 */
import Docker from 'dockerode';
import { Counter, type Registry } from 'prom-client';
import { connectionOf } from './docker-host.js';

/** How long one API request may take before it counts as failed. */
const REQUEST_TIMEOUT_MS = 15_000;
/** Inspects of one read in flight at once. */
const INSPECT_CONCURRENCY = 4;

/** The requests the suite makes of dockerd (the counter's `request` label). */
export type DockerRequest = 'ping' | 'events' | 'list_containers' | 'inspect_container' | 'list_networks' | 'inspect_network' | 'list_volumes' | 'start_container';

/** Network drivers built into dockerd: a network of one of them is ours only through its IPAM driver. */
const BUILTIN_NETWORK_DRIVERS = new Set(['bridge', 'host', 'null', 'overlay', 'macvlan', 'ipvlan']);
/** IPAM drivers built into dockerd (an empty name is the default). */
const BUILTIN_IPAM_DRIVERS = new Set(['', 'default', 'null']);

/** Container states (`State` of the list, `State.Status` of an inspect) in which its mounts and endpoints are live. */
export const LIVE_STATES: ReadonlySet<string> = new Set(['running', 'paused', 'restarting']);

/**
 * A network as `GET /networks` lists it; `Containers` (which the list leaves empty) is filled only for
 * the networks {@link DockerApi.networks} inspected: those that {@link mayBeOurs}.
 */
export interface DockerNetwork {
  Id: string;
  Name: string;
  Driver: string;
  IPAM?: { Driver?: string; Config?: Array<{ Subnet?: string; Gateway?: string; AuxiliaryAddresses?: Record<string, string> | null }> | null };
  /** Keyed by container ID, or `ep-<endpoint ID>` for an endpoint without a sandbox; inspected networks only. */
  Containers?: Record<string, { EndpointID?: string; IPv4Address?: string; IPv6Address?: string }> | null;
}

/**
 * Whether a network can belong to one of our plugins, so that its endpoints and addresses can matter to
 * the suite: a driver that is not built in, or an IPAM driver that is not.
 */
export function mayBeOurs(n: Pick<DockerNetwork, 'Driver' | 'IPAM'>): boolean {
  return !BUILTIN_NETWORK_DRIVERS.has(n.Driver) || !BUILTIN_IPAM_DRIVERS.has(n.IPAM?.Driver ?? '');
}

/**
 * The listed networks, each that {@link mayBeOurs} replaced by its inspect (left out without one: removed
 * meanwhile), the others cut to what the list gives of them (no `Containers`). Pure.
 */
export function withInspected(list: readonly DockerNetwork[], inspected: readonly DockerNetwork[]): DockerNetwork[] {
  const byId = new Map(inspected.map((n) => [n.Id, n]));
  return list.flatMap((n): DockerNetwork[] => {
    if (!mayBeOurs(n)) return [{ Id: n.Id, Name: n.Name, Driver: n.Driver, ...(n.IPAM && { IPAM: n.IPAM }) }];
    const full = byId.get(n.Id);
    return full ? [full] : [];
  });
}

/** A container as `GET /containers/json?all=true` lists it (Docker 20.10: no aliases, no restart policy, no error). */
export interface DockerContainerSummary {
  Id: string;
  /** `["/name"]`. */
  Names: string[];
  /** running, paused, restarting, exited, created, removing or dead. */
  State: string;
  Mounts: Array<{ Type: string; Name?: string; Driver?: string }>;
  NetworkSettings?: {
    Networks?: Record<string, { NetworkID?: string; EndpointID?: string; IPAddress?: string; GlobalIPv6Address?: string }> | null;
  };
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

const COUNTER = 'tsnet_dockerd_requests_total';

/** The request counter in `registry`, made on first use (serve's agreement and names share one registry). */
function requestCounter(registry: Registry): Counter<'request'> {
  return (
    (registry.getSingleMetric(COUNTER) as Counter<'request'> | undefined) ??
    new Counter({
      name: COUNTER,
      help: 'Requests tsnet serve made of dockerd (agreement, healing, names), by request: ping, events, list_containers, inspect_container, list_networks, inspect_network, list_volumes, start_container.',
      labelNames: ['request'],
      registers: [registry],
    })
  );
}

export interface DockerApiOptions {
  /** Count requests in this registry (serve's `--metrics-addr`); absent: not counted (CLI commands). */
  metrics?: Registry;
}

/** Reads of one dockerd. */
export class DockerApi {
  readonly host: string;
  readonly #docker: Docker;
  readonly #streams: Docker;
  readonly #requests: Counter<'request'> | undefined;

  constructor(host: string, opts: DockerApiOptions = {}) {
    this.host = host;
    const conn = connectionOf(host);
    this.#docker = new Docker({ ...conn, timeout: REQUEST_TIMEOUT_MS });
    this.#streams = new Docker(conn);
    this.#requests = opts.metrics && requestCounter(opts.metrics);
  }

  #count(request: DockerRequest): void {
    this.#requests?.inc({ request });
  }

  /** Whether dockerd answers `GET /_ping`. */
  async ping(): Promise<boolean> {
    this.#count('ping');
    try {
      await this.#docker.ping();
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Every network as listed (subnets, gateways and aux addresses for all), those that {@link mayBeOurs}
   * inspected for their `Containers` (one removed meanwhile is skipped: what it held is no longer in use).
   */
  async networks(): Promise<DockerNetwork[]> {
    this.#count('list_networks');
    const list = (await this.#docker.listNetworks()) as DockerNetwork[];
    const inspected = await this.#inspectEach(list.filter(mayBeOurs).map((n) => n.Id), (id) => (this.#count('inspect_network'), this.#docker.getNetwork(id).inspect() as Promise<DockerNetwork>));
    return withInspected(list, inspected);
  }

  /** Every container, running or not, as listed. */
  async containerList(): Promise<DockerContainerSummary[]> {
    this.#count('list_containers');
    return (await this.#docker.listContainers({ all: true })) as DockerContainerSummary[];
  }

  /** The containers `ids`, inspected a few at a time (one removed meanwhile is skipped). */
  async inspectContainers(ids: readonly string[]): Promise<DockerContainer[]> {
    return this.#inspectEach(ids, (id) => (this.#count('inspect_container'), this.#docker.getContainer(id).inspect() as Promise<DockerContainer>));
  }

  /**
   * The volumes of `drivers`, with their driver. Filtered by dockerd, which then asks only those
   * drivers: an unfiltered list asks every volume plugin it has ever used, and waits on each dead one.
   */
  async volumes(drivers: readonly string[]): Promise<Array<{ Name: string; Driver: string }>> {
    if (drivers.length === 0) return [];
    this.#count('list_volumes');
    return (await this.#docker.listVolumes({ filters: { driver: [...drivers] } })).Volumes ?? [];
  }

  /** `docker start` of container `id`. */
  async start(id: string): Promise<void> {
    this.#count('start_container');
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
    this.#count('events');
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

  /** `inspect` of each of `ids`, {@link INSPECT_CONCURRENCY} at a time, in order; a 404 (removed meanwhile) is left out. */
  async #inspectEach<T>(ids: readonly string[], inspect: (id: string) => Promise<T>): Promise<T[]> {
    const found: Array<T | undefined> = new Array(ids.length);
    let next = 0;
    const worker = async () => {
      while (next < ids.length) {
        const i = next++;
        try {
          found[i] = await inspect(ids[i]!);
        } catch (err) {
          if (!isGone(err)) throw err;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(INSPECT_CONCURRENCY, ids.length) }, worker));
    return found.filter((f): f is T => f !== undefined);
  }
}
