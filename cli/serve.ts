/**
 * @module `tsnet serve`: one foreground process serving the chosen plugins, each on its own socket
 * with its own LevelDB, until SIGTERM or SIGINT, which close the sockets cleanly.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createLogger, errorFields, type Level } from '../common/log.js';
import { SOCKET_NAMES, type PluginInstance, type PluginKind } from '../common/plugin.js';
import { PluginServer } from '../common/protocol/server.js';
import { LevelStore } from '../common/store/level-store.js';
import type { Store } from '../common/store/store.js';
import { PLUGIN_FACTORIES } from './plugins.js';

export interface ServeOptions {
  pluginsDir: string;
  stateDir: string;
  only: PluginKind[];
  logLevel: Level;
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
  const stop = async () => {
    for (const r of running.reverse()) {
      await r.server?.close();
      await r.instance?.close?.();
      await r.store.close();
    }
    running.length = 0;
  };
  try {
    for (const kind of opts.only) {
      const stateDir = join(opts.stateDir, kind);
      await mkdir(stateDir, { recursive: true, mode: 0o700 });
      const store = await LevelStore.open(join(stateDir, 'db'));
      const r: Running = { kind, store };
      running.push(r);
      const plog = log.child({ plugin: kind });
      const factory = await PLUGIN_FACTORIES[kind]();
      r.instance = await factory({ stateDir, store, log: plog });
      const socketPath = join(opts.pluginsDir, SOCKET_NAMES[kind]);
      r.server = await PluginServer.listen({ socketPath, interfaces: r.instance.interfaces, log: plog });
      plog.info('serving', { socket: socketPath, stateDir });
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
