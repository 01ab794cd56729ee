/**
 * @module `tsnet serve`: one foreground process serving the chosen plugins until SIGTERM or SIGINT,
 * which close the sockets cleanly. Each plugin gets its own socket (`tsnet.sock`, `tsipam.sock`,
 * `tsvol.sock`), or all share one (`--socket NAME`, what a Docker managed plugin declares), and each
 * has its own LevelDB.
 *
 * Listen first, reconcile behind: the sockets listen before any plugin code loads (dockerd dials a
 * managed plugin 500 ms after starting it), `Plugin.Activate` answers from the interface names known
 * up front, and every other call waits until its plugin has reconciled (bounded by `readyTimeoutMs`,
 * then refused with "tsnet is still starting"). The plugins reconcile side by side. If one fails, the
 * failure is logged, the sockets close, and {@link Serving.ready} rejects (the process exits non-zero).
 * Each store is brought to the current state format before its plugin reads it (common/store/format).
 * With a cluster store, one etcd client and host session (state in `<stateDir>/cluster/`) is opened
 * before the plugins and shared by them; the plugins do not start when etcd does not answer.
 * With `metricsAddr`, `/metrics`, `/healthz` and the topology page (observe/) listen beside the sockets.
 * With `dns` and the network plugin, the name service (names/) starts once the plugins are ready, and
 * re-reads its names after every Join, Leave and DeleteEndpoint; if it cannot start, the plugins serve on.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { EtcdSecurity } from '../common/cluster/etcd-security.js';
import type { ClusterSession, EtcdClient } from '../common/cluster/types.js';
import { createLogger, errorFields, type Level, type Logger } from '../common/log.js';
import {
  ADMIN_INTERFACE,
  DOCKER_INTERFACE,
  PLUGIN_NAMES,
  SOCKET_NAMES,
  type PluginFactory,
  type PluginInstance,
  type PluginKind,
} from '../common/plugin.js';
import type { BoundInterface } from '../common/protocol/api.js';
import { NotReadyError } from '../common/protocol/errors.js';
import { PluginServer, type CallObserver, type PendingInterface } from '../common/protocol/server.js';
import { migrateStore } from '../common/store/format.js';
import type { Store } from '../common/store/store.js';
import type { DockerSync, DockerSyncOptions } from '../docker-sync/sync.js';
import type { NetworkStatusView } from '../network-driver/admin-api.js';
import type { NameService } from '../names/service.js';
import type { Upstream } from '../names/upstreams.js';
import type { ObserveAddr } from '../observe/http.js';
import { PLUGIN_FACTORIES } from './plugins.js';

export interface ServeOptions {
  pluginsDir: string;
  stateDir: string;
  only: PluginKind[];
  logLevel: Level;
  /** Where the process logs (default: JSON lines on stderr at `logLevel`); tests pass one to read the lines. */
  log?: Logger;
  /** One socket, `<pluginsDir>/<socket>`, serving every chosen plugin; absent: one socket per plugin. */
  socket?: string;
  /** tsvol: publish volume Mountpoints under this directory (see PluginContext.mountDir). */
  mountDir?: string;
  /** tsvol: where the host's root filesystem is seen (see PluginContext.hostRoot); default `/`. */
  hostRoot?: string;
  /** Multi-host: the cluster store and this host's place in it. Absent: single host. */
  cluster?: ClusterOptions;
  /** How long a call waits for its plugin to finish reconciling before it is refused (default 60 s). */
  readyTimeoutMs?: number;
  /** `--metrics-addr`: serve metrics, health and the topology page there; absent: off. */
  metricsAddr?: ObserveAddr;
  /** Where each plugin's factory is loaded from (default {@link PLUGIN_FACTORIES}). */
  factories?: Record<PluginKind, () => Promise<PluginFactory>>;
  /** Agreement with Docker and engine-lite, and healing (docker-sync/); absent: neither. */
  sync?: Pick<DockerSyncOptions, 'dockerHost' | 'engineLiteState' | 'heal'>;
  /** The name service (`--dns-addr`, `--dns-upstream`); its names come from `sync`'s sources. Absent: off. */
  dns?: { addr: string; port?: number; upstreams?: Upstream[]; rate?: number };
}

export interface ClusterOptions {
  /** etcd endpoints, `http://host:port` or `https://host:port` (parseClusterStore of `--cluster-store`). */
  endpoints: string[];
  /** TLS files and etcd auth, read at start (`--cluster-ca`, `--cluster-user`, …); absent: plain, no auth. */
  security?: EtcdSecurity;
  /** `--advertise-addr`: IP address or interface name. */
  advertise: string;
  ttlSeconds: number;
  graceSeconds: number;
}

/** A running {@link serve}. */
export interface Serving {
  /** Resolves once every plugin has reconciled; rejects, after everything was closed, if one failed. */
  ready: Promise<void>;
  /** Closes the sockets, waits for start-up to settle, then closes the plugins and stores. Idempotent. */
  stop(): Promise<void>;
}

export const DEFAULT_READY_TIMEOUT_MS = 60_000;

/** Calls after which the name service re-reads its names at once. */
const NAME_CHANGES = new Set(['NetworkDriver.Join', 'NetworkDriver.Leave', 'NetworkDriver.DeleteEndpoint']);

/** Milliseconds since this process started (performance.timeOrigin), for the start-up log lines. */
const sinceStart = () => Math.round(performance.now());

/** The sockets to listen on and the plugins each serves. */
function socketLayout(opts: ServeOptions): Array<{ path: string; kinds: PluginKind[] }> {
  if (opts.socket !== undefined) return [{ path: join(opts.pluginsDir, opts.socket), kinds: opts.only }];
  return opts.only.map((k) => ({ path: join(opts.pluginsDir, SOCKET_NAMES[k]), kinds: [k] }));
}

/**
 * One plugin's start-up: `instance` settles when it has reconciled (or failed); `bound` is what a call
 * to one of its interfaces waits on, refused after `timeoutMs`.
 */
class PluginGate {
  readonly kind: PluginKind;
  readonly instance: Promise<PluginInstance>;
  #ready: PluginInstance | undefined;
  readonly #timeoutMs: number;

  constructor(kind: PluginKind, instance: Promise<PluginInstance>, timeoutMs: number) {
    this.kind = kind;
    this.#timeoutMs = timeoutMs;
    this.instance = instance.then((i) => (this.#ready = i));
  }

  /** Interfaces that wait for this plugin, by their names known up front. */
  pending(): PendingInterface[] {
    return [DOCKER_INTERFACE[this.kind], ADMIN_INTERFACE[this.kind]].map((name) => ({
      name,
      bound: async () => {
        const found = (this.#ready ?? (await this.#wait())).interfaces.find((i) => i.name === name);
        if (!found) throw new Error(`${PLUGIN_NAMES[this.kind]} does not serve ${name}`);
        return found;
      },
    }));
  }

  #wait(): Promise<PluginInstance> {
    const name = PLUGIN_NAMES[this.kind];
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const waited = this.#timeoutMs / 1000;
        reject(new NotReadyError(`tsnet is still starting: ${name} is reconciling its state with the host (waited ${waited} s); try again`));
      }, this.#timeoutMs);
      this.instance.then(resolve, (err: unknown) => reject(new NotReadyError(`tsnet failed to start ${name}: ${(err as Error).message}`)));
      void this.instance.catch(() => undefined).finally(() => clearTimeout(timer));
    });
  }
}

/** Checks that a factory returned the interfaces `serve` announced for its plugin. */
function checkInterfaces(kind: PluginKind, interfaces: BoundInterface[]): void {
  const want = [DOCKER_INTERFACE[kind], ADMIN_INTERFACE[kind]].sort();
  const got = interfaces.map((i) => i.name).sort();
  if (want.join() !== got.join()) throw new Error(`the ${kind} plugin serves ${got.join(', ')}; expected ${want.join(', ')}`);
}

/**
 * Listens on every socket, then reconciles the plugins behind it; resolves once the sockets listen.
 * Rejects (with nothing left open) when a socket cannot be made.
 */
export async function serve(opts: ServeOptions): Promise<Serving> {
  const log = opts.log ?? createLogger({ level: opts.logLevel });
  const factories = opts.factories ?? PLUGIN_FACTORIES;
  const closers: Array<() => Promise<void>> = [];
  // Nothing below starts until every socket listens, so no plugin code competes with listening.
  let begin!: () => void;
  const listening = new Promise<void>((resolve) => (begin = resolve));
  let etcd: EtcdClient | undefined;
  let cluster: Promise<ClusterSession | undefined> = listening.then(() => undefined);
  if (opts.cluster) {
    const { endpoints, security, ...session } = opts.cluster;
    cluster = listening.then(async () => {
      const [{ createEtcdClient }, { openClusterSession }] = await Promise.all([import('../common/cluster/etcd-client.js'), import('../common/cluster/session.js')]);
      etcd = createEtcdClient(endpoints, { ...(security && { security }) });
      const s = await openClusterSession({ client: etcd, stateDir: join(opts.stateDir, 'cluster'), ...session, log: log.child({ component: 'cluster' }) });
      closers.push(() => s.close());
      return s;
    });
  }

  const start = async (kind: PluginKind, plog: Logger): Promise<PluginInstance> => {
    const t0 = performance.now();
    const stateDir = join(opts.stateDir, kind);
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
    const [{ LevelStore }, factory, session] = await Promise.all([import('../common/store/level-store.js'), factories[kind](), cluster]);
    const store: Store = await LevelStore.open(join(stateDir, 'db'));
    closers.push(() => store.close());
    await migrateStore(store, { what: `the ${kind} state in ${join(stateDir, 'db')}`, log: plog, ...(factory.migrations ? { migrations: factory.migrations } : {}) });
    const instance = await factory({ stateDir, store, log: plog, ...(session ? { cluster: session } : {}), ...(opts.mountDir !== undefined && { mountDir: opts.mountDir }), ...(opts.hostRoot !== undefined && { hostRoot: opts.hostRoot }) });
    closers.push(async () => instance.close?.());
    checkInterfaces(kind, instance.interfaces);
    plog.info('reconciled', { stateDir, reconcileMs: Math.round(performance.now() - t0), sinceStartMs: sinceStart() });
    return instance;
  };
  const gates = opts.only.map((kind) => {
    const plog = log.child({ plugin: kind });
    const instance = listening.then(() => start(kind, plog));
    instance.catch((err: unknown) => plog.error('start-up failed', errorFields(err)));
    return new PluginGate(kind, instance, opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS);
  });
  const settled = Promise.allSettled(gates.map((g) => g.instance));

  const observer = opts.metricsAddr && new (await import('../observe/http.js')).Observer({ plugins: gates, cluster, log: log.child({ component: 'observe' }) });
  const servers: Array<{ close(): Promise<void> }> = [];
  let sync: DockerSync | undefined;
  let names: NameService | undefined;
  const onCall: CallObserver = (call) => {
    observer?.onCall(call);
    if (NAME_CHANGES.has(call.call)) names?.refresh();
  };
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await sync?.stop();
      await names?.close();
      await Promise.all(servers.map((s) => s.close()));
      await settled;
      for (const close of closers.reverse()) await close().catch((err: unknown) => log.warn('close failed', errorFields(err)));
      etcd?.close();
    })());

  try {
    for (const { path, kinds } of socketLayout(opts)) {
      const interfaces = gates.filter((g) => kinds.includes(g.kind)).flatMap((g) => g.pending());
      const slog = log.child(kinds.length === 1 ? { plugin: kinds[0] } : { socket: opts.socket });
      servers.push(await PluginServer.listen({ socketPath: path, interfaces, log: slog, observe: onCall }));
      log.info('serving', { socket: path, plugins: kinds, sinceStartMs: sinceStart() });
    }
    if (observer) servers.push(await observer.listen(opts.metricsAddr!));
  } catch (err) {
    // No plugin has started: closing the sockets made so far leaves nothing open.
    log.error('start-up failed', errorFields(err));
    await Promise.all(servers.map((s) => s.close()));
    throw err;
  }
  begin();

  const ready = settled.then(async (results) => {
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) {
      await stop();
      throw failed.reason;
    }
    log.info('ready', { plugins: opts.only, sinceStartMs: sinceStart() });
    // Agreement and healing act through the plugins' handlers, so they start once every plugin has reconciled.
    if (opts.sync && !stopping) {
      const layout = socketLayout(opts);
      const plugins = gates.map((g, i) => {
        const instance = (results[i] as PromiseFulfilledResult<PluginInstance>).value;
        return { kind: g.kind, socket: layout.find((l) => l.kinds.includes(g.kind))!.path, interfaces: instance.interfaces };
      });
      const { startDockerSync } = await import('../docker-sync/sync.js'); // dockerode: off the path to listen
      sync = startDockerSync({ ...opts.sync, pluginsDir: opts.pluginsDir, plugins, log: log.child({ component: 'docker-sync' }), ...(observer && { metrics: observer.registry }) });
      if (observer) observer.watchSync(sync.counts);
    }
    const network = gates.findIndex((g) => g.kind === 'network');
    if (opts.dns && network >= 0 && !stopping) {
      const status = (results[network] as PromiseFulfilledResult<PluginInstance>).value.interfaces.find((i) => i.name === ADMIN_INTERFACE.network)?.methods.get('Status');
      const nlog = log.child({ component: 'names' });
      try {
        const { startNameService } = await import('../names/service.js');
        names = await startNameService({
          ...opts.dns,
          status: async () => ((await status!.handle(status!.schema.parse({ NetworkID: '', Details: false }))) as { Networks: NetworkStatusView[] }).Networks,
          ...(opts.sync?.dockerHost !== undefined && { dockerHost: opts.sync.dockerHost }),
          ...(opts.sync?.engineLiteState !== undefined && { engineLiteState: opts.sync.engineLiteState }),
          ...(opts.cluster && { cluster: (await cluster)! }),
          ...(observer && { metrics: observer.registry }),
          log: nlog,
        });
        if (stopping) await names.close();
      } catch (err) {
        nlog.error('the name service did not start; the plugins serve on without it', errorFields(err));
      }
    }
  });
  return { ready, stop };
}

/**
 * Runs {@link serve} until SIGTERM/SIGINT, then closes everything and resolves. Rejects when a plugin
 * fails to start (its sockets are closed by then).
 */
export async function serveForever(opts: ServeOptions): Promise<void> {
  const serving = await serve(opts);
  let failure: { err: unknown } | undefined;
  await new Promise<void>((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      process.off('SIGTERM', onSignal).off('SIGINT', onSignal);
      createLogger({ level: opts.logLevel }).info('stopping', { signal: sig });
      resolve();
    };
    process.on('SIGTERM', onSignal).on('SIGINT', onSignal);
    serving.ready.catch((err: unknown) => {
      process.off('SIGTERM', onSignal).off('SIGINT', onSignal);
      failure = { err };
      resolve();
    });
  });
  await serving.stop();
  if (failure) throw failure.err;
}
