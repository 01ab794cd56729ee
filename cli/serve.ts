/**
 * @module `tsnet serve`: one foreground process serving the chosen plugins, each on its own socket
 * with its own LevelDB, until SIGTERM or SIGINT, which close the sockets cleanly. With a cluster
 * store, one etcd client and host session (state in `<stateDir>/cluster/`) is opened before the
 * plugins and shared by them; the process does not start when etcd does not answer.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createEtcdClient } from '../common/cluster/etcd-client.js';
import { openClusterSession } from '../common/cluster/session.js';
import type { ClusterSession, EtcdClient } from '../common/cluster/types.js';
import { createLogger, errorFields, type Level } from '../common/log.js';
import { SOCKET_NAMES, type PluginInstance, type PluginKind } from '../common/plugin.js';
import { PluginServer } from '../common/protocol/server.js';
import { LevelStore } from '../common/store/level-store.js';
import type { Store } from '../common/store/store.js';
import { startDockerSync, type DockerSync, type DockerSyncOptions } from '../docker-sync/sync.js';
import { PLUGIN_FACTORIES } from './plugins.js';

export interface ServeOptions {
  pluginsDir: string;
  stateDir: string;
  only: PluginKind[];
  logLevel: Level;
  /** Multi-host: the cluster store and this host's place in it. Absent: single host. */
  cluster?: ClusterOptions;
  /** Agreement with Docker and engine-lite, and healing (docker-sync/); absent: neither. */
  sync?: Pick<DockerSyncOptions, 'dockerHost' | 'engineLiteState' | 'heal'>;
}

export interface ClusterOptions {
  /** etcd endpoints, `http://host:port` (parseClusterStore of `--cluster-store`). */
  endpoints: string[];
  /** `--advertise-addr`: IP address or interface name. */
  advertise: string;
  ttlSeconds: number;
  graceSeconds: number;
}

interface Running {
  kind: PluginKind;
  store: Store;
  instance?: PluginInstance;
  server?: PluginServer;
}

/** Starts the plugins and resolves once every socket is listening; returns a stop function. */
export async function serve(opts: ServeOptions): Promise<() => Promise<void>> {
  const log = createLogger({ level: opts.logLevel });
  const running: Running[] = [];
  let etcd: EtcdClient | undefined;
  let cluster: ClusterSession | undefined;
  let sync: DockerSync | undefined;
  const stop = async () => {
    await sync?.stop();
    for (const r of running.reverse()) {
      await r.server?.close();
      await r.instance?.close?.();
      await r.store.close();
    }
    running.length = 0;
    await cluster?.close();
    etcd?.close();
  };
  try {
    if (opts.cluster) {
      const { endpoints, ...session } = opts.cluster;
      etcd = createEtcdClient(endpoints);
      cluster = await openClusterSession({ client: etcd, stateDir: join(opts.stateDir, 'cluster'), ...session, log: log.child({ component: 'cluster' }) });
    }
    for (const kind of opts.only) {
      const stateDir = join(opts.stateDir, kind);
      await mkdir(stateDir, { recursive: true, mode: 0o700 });
      const store = await LevelStore.open(join(stateDir, 'db'));
      const r: Running = { kind, store };
      running.push(r);
      const plog = log.child({ plugin: kind });
      const factory = await PLUGIN_FACTORIES[kind]();
      r.instance = await factory({ stateDir, store, log: plog, ...(cluster ? { cluster } : {}) });
      const socketPath = join(opts.pluginsDir, SOCKET_NAMES[kind]);
      r.server = await PluginServer.listen({ socketPath, interfaces: r.instance.interfaces, log: plog });
      plog.info('serving', { socket: socketPath, stateDir });
    }
    if (opts.sync) {
      const plugins = running.map((r) => ({ kind: r.kind, socket: join(opts.pluginsDir, SOCKET_NAMES[r.kind]), interfaces: r.instance!.interfaces }));
      sync = startDockerSync({ ...opts.sync, pluginsDir: opts.pluginsDir, plugins, log: log.child({ component: 'docker-sync' }) });
    }
  } catch (err) {
    log.error('start-up failed', errorFields(err));
    await stop();
    throw err;
  }
  return stop;
}

/** Runs {@link serve} until SIGTERM/SIGINT, then closes everything and exits 0. */
export async function serveForever(opts: ServeOptions): Promise<void> {
  const stop = await serve(opts);
  await new Promise<void>((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      process.off('SIGTERM', onSignal).off('SIGINT', onSignal);
      createLogger({ level: opts.logLevel }).info('stopping', { signal: sig });
      resolve();
    };
    process.on('SIGTERM', onSignal).on('SIGINT', onSignal);
  });
  await stop();
}
