/**
 * @module Agreement with Docker and healing, inside `tsnet serve` and outside any plugin request.
 *
 * Agreement: a pass reads the reference (dockerd's network and container lists through its API, with an
 * inspect of each network that can be ours and of no container, and/or engine-lite's records), then what
 * the served plugins hold, and releases what the reference no longer knows (decide.ts; addresses and
 * pools by tsipam's own gc) through the plugins' own idempotent handlers, called in-process. Passes run
 * at start, whenever dockerd becomes reachable, on dockerd's events, and once more {@link SETTLE_MS} later
 * to judge what was too new. Without any reference nothing is released; with dockerd configured but not
 * answering nothing is released either (engine-lite alone would not know dockerd's objects).
 *
 * Healing: the first time dockerd answers, containers it should have running that failed to start for
 * lack of one of our plugins (heal.ts) are started, once each; only the containers the list shows not
 * live are inspected for that.
 */
import type { Registry } from 'prom-client';
import type { BoundInterface } from '../common/protocol/api.js';
import type { KnownUse } from '../ipam/core/gc.js';
import type { TsnetIpamResponses } from '../ipam/admin/admin-api.js';
import type { TsnetNetworkResponses } from '../network-driver/admin-api.js';
import type { AdminResponses } from '../volume-driver/admin-api.js';
import { errorFields, type Logger } from '../common/log.js';
import type { PluginKind } from '../common/plugin.js';
import { decide, type Action, type Holdings } from './decide.js';
import { DockerApi, LIVE_STATES } from './docker-api.js';
import { whomToHeal } from './heal.js';
import { referenceOfDocker, referenceOfEngineLite, unionOf, type Reference } from './reference.js';
import { driverNamesOf, readEngineLite } from './sources.js';

/** How long an object may exist before the reference records it (a create in flight). */
export const SETTLE_MS = 10_000;
/** Wait between attempts to reach dockerd's event stream. */
const RETRY_MS = 2_000;
/** Events arriving within this time share one pass. */
const DEBOUNCE_MS = 500;
const EVENT_TYPES = ['network', 'container', 'volume'] as const;
const TRIGGERS = new Set(['network:destroy', 'network:disconnect', 'container:destroy', 'container:die', 'volume:destroy', 'volume:unmount']);

/** One served plugin, as agreement calls it. */
export interface SyncedPlugin {
  kind: PluginKind;
  socket: string;
  interfaces: BoundInterface[];
}

export interface DockerSyncOptions {
  /** dockerd's API address (`unix:///var/run/docker.sock`); undefined: no dockerd (`--docker-host none`). */
  dockerHost?: string;
  /** engine-lite's state directory; undefined: engine-lite is no reference. */
  engineLiteState?: string;
  /** Start containers that failed for lack of our plugins (`--no-heal` turns it off). */
  heal: boolean;
  pluginsDir: string;
  plugins: readonly SyncedPlugin[];
  log: Logger;
  settleMs?: number;
  /** Count the requests to dockerd here (serve's `--metrics-addr` registry). */
  metrics?: Registry;
}

/** What agreement released and healing started since this process started (for the metrics). */
export interface SyncCounts {
  /** Containers healing started, and those whose start failed. */
  healed: { started: number; failed: number };
  /** Objects agreement released, by kind; `failed` counts releases that failed. */
  released: Record<Action['kind'] | 'address' | 'pool' | 'failed', number>;
}

export interface DockerSync {
  /** Stops watching dockerd and waits for the pass in progress. */
  stop(): Promise<void>;
  /** A copy of the counts so far. */
  counts(): SyncCounts;
}

const short = (id: string) => id.slice(0, 12);

/** Starts agreement (and healing) in the background; nothing is started without a reference. */
export function startDockerSync(opts: DockerSyncOptions): DockerSync {
  const log = opts.log;
  const settleMs = opts.settleMs ?? SETTLE_MS;
  const docker = opts.dockerHost === undefined ? undefined : new DockerApi(opts.dockerHost, { ...(opts.metrics && { metrics: opts.metrics }) });
  const abort = new AbortController();
  const firstSeen = new Map<string, string>();
  const healed = new Set<string>();
  const counts: SyncCounts = { healed: { started: 0, failed: 0 }, released: { endpoint: 0, network: 0, mount: 0, address: 0, pool: 0, failed: 0 } };
  let recheck: NodeJS.Timeout | undefined;
  let queue: Promise<void> = Promise.resolve();
  let debounced: NodeJS.Timeout | undefined;

  const plugin = (kind: PluginKind) => opts.plugins.find((p) => p.kind === kind);
  async function call<T>(kind: PluginKind, iface: string, method: string, req: object): Promise<T> {
    const m = plugin(kind)?.interfaces.find((i) => i.name === iface)?.methods.get(method);
    if (!m) throw new Error(`${iface}.${method} is not served`);
    return (await m.handle(m.schema.parse(req))) as T;
  }

  /** Queues `fn` after the work in progress; failures are logged, never thrown. */
  function enqueue(what: string, fn: () => Promise<void>): Promise<void> {
    queue = queue.then(async () => {
      if (abort.signal.aborted) return;
      try {
        await fn();
      } catch (err) {
        log.warn(`${what} failed`, errorFields(err));
      }
    });
    return queue;
  }

  async function reference(): Promise<{ ref: Reference; sources: string[] } | undefined> {
    const refs: Reference[] = [];
    const sources: string[] = [];
    if (docker) {
      if (!(await docker.ping())) return undefined;
      const [networks, containers] = await Promise.all([docker.networks(), docker.containerList()]);
      refs.push(referenceOfDocker(networks, containers));
      sources.push('dockerd');
    }
    const el = opts.engineLiteState === undefined ? undefined : await readEngineLite(opts.engineLiteState);
    if (el) {
      refs.push(referenceOfEngineLite(el.networks, el.containers));
      sources.push('engine-lite');
    }
    return refs.length === 0 ? undefined : { ref: unionOf(refs), sources };
  }

  /** What the served plugins hold, each object stamped with when this process first saw it. */
  async function holdings(): Promise<Holdings> {
    const now = new Date().toISOString();
    const seen = new Set<string>();
    const since = (key: string) => {
      seen.add(key);
      if (!firstSeen.has(key)) firstSeen.set(key, now);
      return firstSeen.get(key)!;
    };
    const held: Holdings = { networks: [], volumes: [] };
    if (plugin('network')) {
      const { Networks } = await call<TsnetNetworkResponses['Status']>('network', 'TsnetNetwork', 'Status', { NetworkID: '', Details: false });
      held.networks = Networks.map((n) => ({
        id: n.ID,
        since: since(`n/${n.ID}`),
        endpoints: n.Endpoints.map((e) => ({ id: e.ID, joined: e.Joined, since: since(`e/${n.ID}/${e.ID}`) })),
      }));
    }
    if (plugin('volume')) {
      const { Volumes } = await call<AdminResponses['Mounts']>('volume', 'TsnetVolume', 'Mounts', {});
      held.volumes = Volumes.map((v) => ({
        name: v.Name,
        mounts: Object.entries(v.Mounts).map(([id, count]) => ({ id, count, since: since(`m/${v.Name}/${id}`) })),
      }));
    }
    for (const key of [...firstSeen.keys()]) if (!seen.has(key)) firstSeen.delete(key);
    return held;
  }

  async function apply(a: Action): Promise<void> {
    switch (a.kind) {
      case 'endpoint': {
        const ref = { NetworkID: a.networkId, EndpointID: a.endpointId };
        if (a.joined) {
          await call('network', 'NetworkDriver', 'RevokeExternalConnectivity', ref);
          await call('network', 'NetworkDriver', 'Leave', ref);
        }
        await call('network', 'NetworkDriver', 'DeleteEndpoint', ref);
        log.info('released endpoint', { network: short(a.networkId), endpoint: short(a.endpointId), joined: a.joined, reason: a.reason });
        return;
      }
      case 'network':
        await call('network', 'NetworkDriver', 'DeleteNetwork', { NetworkID: a.networkId });
        log.info('released network', { network: short(a.networkId), reason: a.reason });
        return;
      case 'mount':
        for (let i = 0; i < a.count; i++) await call('volume', 'VolumeDriver', 'Unmount', { Name: a.volume, ID: a.mountId });
        log.info('released volume mount', { volume: a.volume, mountId: short(a.mountId), count: a.count, reason: a.reason });
        return;
    }
  }

  async function collectAddresses(use: KnownUse, cutoff: string): Promise<{ addresses: number; pools: number }> {
    if (!plugin('ipam')) return { addresses: 0, pools: 0 };
    const { Items } = await call<TsnetIpamResponses['Gc']>('ipam', 'TsnetIpam', 'Gc', { Subnets: use.subnets, Addresses: use.addresses, Before: cutoff, DryRun: false });
    for (const i of Items) {
      if (i.Address === '') log.info('released pool', { pool: i.PoolID, reason: i.Reason });
      else log.info('released address', { pool: i.PoolID, address: i.Address, reason: i.Reason });
    }
    return { addresses: Items.filter((i) => i.Address !== '').length, pools: Items.filter((i) => i.Address === '').length };
  }

  async function pass(reason: string, isRecheck: boolean): Promise<void> {
    const started = Date.now();
    const found = await reference();
    if (!found) {
      log.debug('agreement skipped: no reference answers', { reason });
      return;
    }
    const cutoff = new Date(started - settleMs).toISOString();
    const { actions, heldBack } = decide(await holdings(), found.ref, cutoff);
    let failed = 0;
    for (const a of actions) {
      try {
        await apply(a);
        counts.released[a.kind]++;
      } catch (err) {
        failed++;
        counts.released.failed++;
        log.warn('release failed', { action: a.kind, ...errorFields(err) });
      }
    }
    const ipam = await collectAddresses(found.ref.use, cutoff);
    counts.released.address += ipam.addresses;
    counts.released.pool += ipam.pools;
    const count = (k: Action['kind']) => actions.filter((a) => a.kind === k).length;
    log.info('agreement pass done', {
      reason,
      reference: found.sources.join('+'),
      endpoints: count('endpoint'),
      networks: count('network'),
      mounts: count('mount'),
      addresses: ipam.addresses,
      pools: ipam.pools,
      failed,
      heldBack,
      ms: Date.now() - started,
    });
    // What was too new to judge (and tsipam's addresses, whose age gc alone sees) is judged once more.
    if (!isRecheck || heldBack > 0) {
      if (recheck) clearTimeout(recheck); // the later recheck covers what the earlier one would have judged
      recheck = setTimeout(() => {
        recheck = undefined;
        void enqueue('agreement pass', () => pass('recheck of newer objects', true));
      }, settleMs + DEBOUNCE_MS);
    }
  }

  async function heal(): Promise<void> {
    if (!docker) return;
    const drivers = await driverNamesOf(opts.pluginsDir, opts.plugins.map((p) => p.socket));
    // Only a container that is not live can be one to heal; the rest need no inspect.
    const idle = (await docker.containerList()).filter((c) => !LIVE_STATES.has(c.State) && !healed.has(c.Id));
    const todo = whomToHeal(await docker.inspectContainers(idle.map((c) => c.Id)), drivers, healed);
    let started = 0;
    for (const c of todo) {
      healed.add(c.id);
      try {
        await docker.start(c.id);
        started++;
        counts.healed.started++;
        log.info('healed container', { container: c.name, id: short(c.id), driver: c.driver, error: c.error });
      } catch (err) {
        counts.healed.failed++;
        log.warn('healing a container failed', { container: c.name, id: short(c.id), ...errorFields(err) });
      }
    }
    log.info('healing done', { candidates: todo.length, started, drivers });
  }

  function request(reason: string): void {
    if (debounced) return;
    debounced = setTimeout(() => {
      debounced = undefined;
      void enqueue('agreement pass', () => pass(reason, false));
    }, DEBOUNCE_MS);
  }

  /** Follows dockerd's events; each (re)connection is "dockerd became reachable". */
  async function watch(api: DockerApi): Promise<void> {
    let first = true;
    let reported = false;
    while (!abort.signal.aborted) {
      try {
        const { ended } = await api.events(EVENT_TYPES, (e) => TRIGGERS.has(`${e.Type}:${e.Action}`) && request(`docker event ${e.Type} ${e.Action}`), abort.signal);
        log.info('dockerd reachable', { host: api.host });
        reported = false;
        void enqueue('agreement pass', () => pass(first ? 'start' : 'dockerd reachable again', false));
        if (first && opts.heal) void enqueue('healing', heal);
        first = false;
        await ended;
        if (!abort.signal.aborted) log.warn('dockerd event stream ended; reconnecting', { host: api.host });
      } catch (err) {
        if (!reported) log.info('dockerd not reachable; agreement waits for it', { host: api.host, err: (err as Error).message });
        reported = true;
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, RETRY_MS);
        abort.signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
      });
    }
  }

  const watching = docker ? watch(docker) : enqueue('agreement pass', () => pass('start', false));
  log.info('agreement with docker started', {
    dockerHost: opts.dockerHost ?? 'none',
    engineLite: opts.engineLiteState ?? 'none',
    heal: opts.heal && docker !== undefined,
  });

  return {
    counts: () => ({ healed: { ...counts.healed }, released: { ...counts.released } }),
    async stop() {
      abort.abort();
      if (debounced) clearTimeout(debounced);
      if (recheck) clearTimeout(recheck);
      await watching;
      await queue;
    },
  };
}
