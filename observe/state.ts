/**
 * @module What the metrics and the topology page show, read in-process through the plugins' own admin
 * interfaces (`TsnetNetwork.Status`, `TsnetIpam.List`, `TsnetVolume.List`, the same calls `tsnet status`,
 * `tsnet ipam ls` and `tsnet volume ls` make over the socket) and the cluster session. Also the plugins'
 * readiness and start-up drift, agreement's and healing's counts once they run, and a small ring buffer of recent refused and failed calls fed by the plugin servers.
 */
import type { ClusterSession } from '../common/cluster/types.js';
import type { Logger } from '../common/log.js';
import { ADMIN_INTERFACE, DOCKER_INTERFACE, type PluginInstance, type PluginKind } from '../common/plugin.js';
import type { CallRecord } from '../common/protocol/server.js';
import type { SyncCounts } from '../docker-sync/sync.js';
import type { PoolView } from '../ipam/admin/admin-api.js';
import type { NetworkStatusView } from '../network-driver/admin-api.js';
import type { DetailedVolume } from '../volume-driver/status.js';

/** A plugin as `serve` starts it: `instance` settles once it has reconciled (or failed). */
export interface ObservedPlugin {
  kind: PluginKind;
  instance: Promise<PluginInstance>;
}

/** This host's place in the cluster, as of one read. */
export interface ClusterView {
  hostId: string;
  advertiseAddr: string;
  /** Whether etcd answered a read just now. */
  etcdUp: boolean;
  /** Seconds since this process got (or took over at start) its current live lease. */
  liveLeaseAgeSeconds: number;
}

/** One refused or failed call, as the page lists it. */
export interface RecentFailure extends CallRecord {
  time: string;
  plugin: PluginKind | 'unknown';
}

/** Everything one read of the plugins gives; a part is absent when its plugin is not served or not ready. */
export interface Snapshot {
  ready: Record<PluginKind, boolean | undefined>;
  /** Seconds each ready plugin took from start to reconciled. */
  startSeconds: Partial<Record<PluginKind, number>>;
  /** What each ready plugin's start-up reconcile found to repair (PluginInstance.startDrift). */
  startDrift: Partial<Record<PluginKind, number>>;
  /** Agreement with Docker and healing, when they run. */
  sync?: SyncCounts;
  networks?: NetworkStatusView[];
  pools?: PoolView[];
  volumes?: DetailedVolume[];
  cluster?: ClusterView;
}

/** How many refused/failed calls the page keeps. */
export const RECENT_FAILURES = 50;

/** Which plugin serves an interface (`NetworkDriver` and `TsnetNetwork` → network). */
export function pluginOfInterface(iface: string): PluginKind | undefined {
  for (const kind of Object.keys(DOCKER_INTERFACE) as PluginKind[]) {
    if (DOCKER_INTERFACE[kind] === iface || ADMIN_INTERFACE[kind] === iface) return kind;
  }
  return undefined;
}

/** Calls one admin method in-process, its request validated (defaults filled) as the server would. */
async function askAdmin<T>(instance: PluginInstance, kind: PluginKind, method: string, req: object): Promise<T> {
  const m = instance.interfaces.find((i) => i.name === ADMIN_INTERFACE[kind])?.methods.get(method);
  if (!m) throw new Error(`${ADMIN_INTERFACE[kind]} has no ${method}`);
  return (await m.handle(m.schema.parse(req))) as T;
}

export class StateReader {
  readonly #ready = new Map<PluginKind, PluginInstance>();
  readonly #served: PluginKind[];
  readonly #startSeconds: Partial<Record<PluginKind, number>> = {};
  readonly #log: Logger;
  readonly #recent: RecentFailure[] = [];
  #session: ClusterSession | undefined;
  #leaseSince = 0;
  #sync: (() => SyncCounts) | undefined;

  constructor(opts: { plugins: ObservedPlugin[]; cluster: Promise<ClusterSession | undefined>; log: Logger }) {
    this.#log = opts.log;
    this.#served = opts.plugins.map((p) => p.kind);
    const t0 = performance.now();
    for (const p of opts.plugins) {
      p.instance.then(
        (i) => {
          this.#ready.set(p.kind, i);
          this.#startSeconds[p.kind] = (performance.now() - t0) / 1000;
        },
        () => undefined, // serve logs the failure and stops
      );
    }
    opts.cluster.then(
      (s) => {
        if (!s) return;
        this.#session = s;
        this.#leaseSince = Date.now();
        s.onRenewed(async () => void (this.#leaseSince = Date.now()));
      },
      () => undefined,
    );
  }

  /** Agreement and healing started (after the plugins): their counts join every snapshot. */
  watchSync(counts: () => SyncCounts): void {
    this.#sync = counts;
  }

  /** Whether every served plugin has reconciled and serves. */
  allReady(): boolean {
    return this.#served.every((k) => this.#ready.has(k));
  }

  /** Keeps a refused or failed call for the page (the newest {@link RECENT_FAILURES}). */
  record(call: CallRecord): void {
    if (call.outcome === 'ok' || call.outcome === 'expected') return;
    this.#recent.push({ ...call, time: new Date().toISOString(), plugin: pluginOfInterface(call.call.split('.')[0] ?? '') ?? 'unknown' });
    if (this.#recent.length > RECENT_FAILURES) this.#recent.shift();
  }

  /** Newest first. */
  recentFailures(): RecentFailure[] {
    return [...this.#recent].reverse();
  }

  /** Reads every ready plugin's state (side by side); a part that fails to read is logged and left out. */
  async read(): Promise<Snapshot> {
    const part = async <T>(kind: PluginKind, method: string, req: object, pick: (r: never) => T): Promise<T | undefined> => {
      const instance = this.#ready.get(kind);
      if (!instance) return undefined;
      try {
        return pick(await askAdmin<never>(instance, kind, method, req));
      } catch (err) {
        this.#log.warn('could not read plugin state for metrics', { plugin: kind, method, err: (err as Error).message });
        return undefined;
      }
    };
    const [networks, pools, volumes, cluster] = await Promise.all([
      part('network', 'Status', {}, (r: { Networks: NetworkStatusView[] }) => r.Networks),
      part('ipam', 'List', {}, (r: { Pools: PoolView[] }) => r.Pools),
      part('volume', 'List', {}, (r: { Volumes: DetailedVolume[] }) => r.Volumes),
      this.#readCluster(),
    ]);
    const ready = Object.fromEntries((['network', 'ipam', 'volume'] as const).map((k) => [k, this.#served.includes(k) ? this.#ready.has(k) : undefined]));
    const startDrift = Object.fromEntries([...this.#ready].flatMap(([kind, i]) => (i.startDrift === undefined ? [] : [[kind, i.startDrift]])));
    return {
      ready: ready as Snapshot['ready'],
      startSeconds: { ...this.#startSeconds },
      startDrift,
      ...(this.#sync && { sync: this.#sync() }),
      ...(networks && { networks }),
      ...(pools && { pools }),
      ...(volumes && { volumes }),
      ...(cluster && { cluster }),
    };
  }

  async #readCluster(): Promise<ClusterView | undefined> {
    const s = this.#session;
    if (!s) return undefined;
    const etcdUp = await s.isHeld(s.hostId).then(
      () => true,
      () => false,
    );
    return { hostId: s.hostId, advertiseAddr: s.advertiseAddr, etcdUp, liveLeaseAgeSeconds: (Date.now() - this.#leaseSince) / 1000 };
  }
}
