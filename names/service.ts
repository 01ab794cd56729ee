/**
 * @module The name service of `tsnet serve` (`--dns-addr`): one DNS responder per host, on a fixed
 * address that containers reach through their default route (by default 169.254.53.53 on an empty
 * bridge `tsdns0` made for it, removed again at stop), answering container names of tsnet networks to
 * the containers on them, and forwarding everything else to the host's resolvers.
 *
 * What it knows is refreshed every {@link REFRESH_MS} and at once after a Join, Leave or
 * DeleteEndpoint ({@link NameService.refresh}): the network plugin's endpoints (its Status call), joined
 * with the names of dockerd's containers (re-read on dockerd's container and network events: one list,
 * and an inspect of each container that changed; a burst of events shares reads, one at a time) and of
 * engine-lite's records; overlay names are published to etcd and other hosts' read back (cluster.ts).
 */
import type { Registry } from 'prom-client';
import { hostCidr } from '../common/addr/parse.js';
import type { ClusterSession } from '../common/cluster/types.js';
import { links } from '../common/kernel/links-api.js';
import { isErrno } from '../common/kernel/rt-errors.js';
import { Coalesced } from '../common/coalesce.js';
import { errorFields, type Logger } from '../common/log.js';
import { DockerApi } from '../docker-sync/docker-api.js';
import type { NetworkStatusView } from '../network-driver/admin-api.js';
import { NameCluster } from './cluster.js';
import { DNS_LINK } from './defaults.js';
import { Forwarder } from './forwarder.js';
import { DnsMetrics } from './metrics.js';
import { RateLimiter } from './rate-limit.js';
import { plainAddress, scopeOf } from './records.js';
import { NameRegistry, type LocalEndpoint } from './registry.js';
import { listenResponder, type Responder } from './responder.js';
import { DockerNames, EngineLiteRecords, namesOfEngineLite, type SourceName } from './sources.js';
import { hostResolvers, type Upstream } from './upstreams.js';

/** How often the local names are re-read at the latest. */
export const REFRESH_MS = 1000;
/** Queries per second each source address may send unless `--dns-rate` says otherwise (the burst is twice that). */
export const DEFAULT_RATE = 1000;
const DOCKER_RETRY_MS = 2000;
const DOCKER_TRIGGERS = new Set(['container:start', 'container:die', 'container:destroy', 'container:rename', 'network:connect', 'network:disconnect']);

export interface NameServiceOptions {
  /** The responder's address (an IP; made on {@link DNS_LINK} when the host does not have it). */
  addr: string;
  /** Default 53. */
  port?: number;
  /** Queries per second per source address (burst: twice that); default {@link DEFAULT_RATE}. */
  rate?: number;
  /** Where to forward other names; default the host's resolvers. */
  upstreams?: Upstream[];
  /** The network plugin's networks and endpoints. */
  status: () => Promise<NetworkStatusView[]>;
  /** dockerd's API, a source of names; undefined: none. */
  dockerHost?: string;
  /** engine-lite's state directory, a source of names; undefined: none. */
  engineLiteState?: string;
  cluster?: ClusterSession;
  /** Metrics go here (serve's `--metrics-addr` registry). */
  metrics?: Registry;
  log: Logger;
  refreshMs?: number;
}

export interface NameService {
  readonly addr: string;
  readonly port: number;
  /** Re-read the local names soon (coalesced). */
  refresh(): void;
  /** Stops answering, closes the watches, removes the link it made. Idempotent. */
  close(): Promise<void>;
}

/**
 * Binds the responder, making the address on {@link DNS_LINK} first when no interface has it.
 * `ownLink`: the address is on {@link DNS_LINK} (made now, or left by a process that died) and this
 * responder listens on it, so the link goes at stop.
 */
async function bindResponder(listen: () => Promise<Responder>, addr: string, log: Logger): Promise<{ responder: Responder; ownLink: boolean }> {
  const onLink = async () => (await links.listAddresses(DNS_LINK)).some((a) => a.address === addr);
  try {
    const responder = await listen();
    return { responder, ownLink: await onLink() };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRNOTAVAIL') throw err;
  }
  // An empty bridge, not a dummy: it needs no kernel module beyond what the networks need anyway.
  await links.ensureBridge(DNS_LINK);
  await links.ensureAddress(DNS_LINK, hostCidr(addr), { nodad: true });
  log.info('made the name service address', { link: DNS_LINK, addr });
  try {
    return { responder: await listen(), ownLink: true };
  } catch (err) {
    await links.deleteLink(DNS_LINK).catch(() => undefined);
    throw err;
  }
}

/** Starts the name service; rejects when the responder cannot listen. */
export async function startNameService(opts: NameServiceOptions): Promise<NameService> {
  const { log } = opts;
  const registry = new NameRegistry({ log, hostId: opts.cluster?.hostId ?? 'local' });
  const upstreams = opts.upstreams ?? (await hostResolvers(opts.addr));
  if (upstreams.length === 0) log.warn('no upstream resolvers: names other than containers\' will fail (give --dns-upstream)');
  const forwarder = new Forwarder({ upstreams });
  const metrics = opts.metrics && new DnsMetrics(opts.metrics, () => registry.counts());
  const responderOpts = { addr: opts.addr, port: opts.port ?? 53, registry, forwarder, limiter: new RateLimiter({ perSecond: opts.rate ?? DEFAULT_RATE, burst: 2 * (opts.rate ?? DEFAULT_RATE) }), log, ...(metrics && { metrics }) };
  const { responder, ownLink } = await bindResponder(() => listenResponder(responderOpts), opts.addr, log);
  const cluster = opts.cluster && new NameCluster({ session: opts.cluster, registry, log });
  const abort = new AbortController();
  const docker = opts.dockerHost === undefined ? undefined : new DockerApi(opts.dockerHost, { ...(opts.metrics && { metrics: opts.metrics }) });
  let dockerNames: SourceName[] = [];
  const engineLite = opts.engineLiteState === undefined ? undefined : new EngineLiteRecords(opts.engineLiteState);

  const refreshLocal = async () => {
    const [networks, elContainers] = await Promise.all([opts.status(), engineLite?.containers() ?? []]);
    const byEndpoint = new Map<string, SourceName>();
    for (const n of [...dockerNames, ...namesOfEngineLite(elContainers)]) byEndpoint.set(n.endpointId, n);
    const endpoints: LocalEndpoint[] = [];
    for (const net of networks) {
      for (const e of net.Endpoints) {
        const named = byEndpoint.get(e.ID);
        if (!named || !e.Joined) continue;
        const ipv4 = plainAddress(e.Address) ?? named.ipv4;
        const ipv6 = plainAddress(e.AddressIPv6) ?? named.ipv6;
        endpoints.push({ ...named, networkId: net.ID, scope: scopeOf(net), ...(ipv4 !== undefined && { ipv4 }), ...(ipv6 !== undefined && { ipv6 }) });
      }
    }
    registry.setLocal(endpoints);
    await cluster?.publish();
  };
  const local = new Coalesced(refreshLocal, (err) => log.warn('reading names failed', errorFields(err)));
  const refresh = () => {
    if (!abort.signal.aborted) local.request();
  };

  const dockerSource = docker && new DockerNames(docker);
  const dockerReads =
    dockerSource &&
    new Coalesced(
      async () => {
        dockerNames = await dockerSource.read();
        refresh();
      },
      (err) => log.warn('reading dockerd names failed', errorFields(err)),
    );
  const watchDocker = async (api: DockerApi, reads: Coalesced) => {
    while (!abort.signal.aborted) {
      try {
        const { ended } = await api.events(
          ['container', 'network'],
          (e) => DOCKER_TRIGGERS.has(`${e.Type}:${e.Action}`) && reads.request(),
          abort.signal,
        );
        reads.request();
        await ended;
      } catch (err) {
        log.debug('dockerd not reachable for names; retrying', { err: (err as Error).message });
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, DOCKER_RETRY_MS);
        abort.signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
      });
    }
  };

  try {
    await cluster?.start();
  } catch (err) {
    await responder.close();
    if (ownLink) await links.deleteLink(DNS_LINK).catch(() => undefined);
    throw err;
  }
  const watching = docker && dockerReads ? watchDocker(docker, dockerReads) : Promise.resolve();
  const timer = setInterval(refresh, opts.refreshMs ?? REFRESH_MS);
  let closing: Promise<void> | undefined;
  refresh();
  log.info('name service listening', { addr: opts.addr, port: responder.port, upstreams: upstreams.map((u) => `${u.host}:${u.port}`), link: ownLink ? DNS_LINK : 'an interface of the host' });

  return {
    addr: opts.addr,
    port: responder.port,
    refresh,
    close: () =>
      (closing ??= (async () => {
      abort.abort();
      clearInterval(timer);
      await watching;
      await dockerReads?.idle();
      await local.idle();
      cluster?.close();
      forwarder.close();
      await responder.close();
      if (ownLink) await links.deleteLink(DNS_LINK).catch((err: unknown) => (isErrno(err, 'ENODEV') ? undefined : log.warn('removing the name service link failed', errorFields(err))));
      })()),
  };
}
