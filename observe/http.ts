/**
 * @module The operator's HTTP side of `tsnet serve --metrics-addr HOST:PORT` (express 5): `/metrics`
 * (Prometheus text format), `/healthz` (200 only when every served plugin has reconciled and serves,
 * else 503), the live topology page `/` with its files from observe/page/ (no CDN, no build step),
 * `/api/topology`, the JSON the page shows, and `/api/events`, the same pushed on every change
 * (server-sent events, live.ts; the page polls `/api/topology` only while that stream is down).
 * Nothing here changes state. Off unless asked for.
 */
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import express from 'express';
import type { Registry } from 'prom-client';
import type { ClusterSession } from '../common/cluster/types.js';
import type { Logger } from '../common/log.js';
import type { CallObserver } from '../common/protocol/server.js';
import type { SyncCounts } from '../docker-sync/sync.js';
import { TopologyFeed } from './live.js';
import { SuiteMetrics } from './metrics.js';
import { StateReader, type ObservedPlugin } from './state.js';

/** `--metrics-addr`: where to listen. */
export interface ObserveAddr {
  host: string;
  port: number;
}

/** The page's files: beside this module when run from source, in the package's observe/page/ when run from dist/. */
function pageDir(): string {
  const candidates = ['./page/', '../../observe/page/'].map((rel) => fileURLToPath(new URL(rel, import.meta.url)));
  const found = candidates.find((d) => existsSync(`${d}index.html`));
  if (!found) throw new Error(`the topology page's files are missing (looked in ${candidates.join(', ')})`);
  return found;
}

/**
 * Metrics and state reading, made before the plugin sockets listen so that {@link Observer.onCall}
 * can be handed to them; {@link Observer.listen} starts the HTTP side.
 */
export class Observer {
  readonly #metrics = new SuiteMetrics();
  readonly #state: StateReader;
  readonly #log: Logger;
  readonly #feed: TopologyFeed;

  constructor(opts: { plugins: ObservedPlugin[]; cluster: Promise<ClusterSession | undefined>; log: Logger }) {
    this.#log = opts.log;
    this.#state = new StateReader(opts);
    this.#feed = new TopologyFeed(() => this.#topology(), (err) => this.#log.warn('could not read the topology for the live page', { err: err.message }));
  }

  /** What the page shows: the plugins' state, recent refusals and errors, and when it was read. */
  async #topology(): Promise<Record<string, unknown>> {
    return { ...(await this.#state.read()), recent: this.#state.recentFailures(), time: new Date().toISOString() };
  }

  /** Agreement and healing started: their counts join the metrics. */
  watchSync(counts: () => SyncCounts): void {
    this.#state.watchSync(counts);
  }

  /** The metrics registry, for other parts of serve that add their own (the name service). */
  get registry(): Registry {
    return this.#metrics.registry;
  }

  /** For the plugin servers: every answered call. */
  readonly onCall: CallObserver = (call) => {
    this.#metrics.observeCall(call);
    this.#state.record(call);
    this.#feed.changed();
  };

  /** Serves the HTTP side on `addr`; resolves once it listens. */
  async listen(addr: ObserveAddr): Promise<{ address: string; close(): Promise<void> }> {
    const app = express();
    app.disable('x-powered-by');
    app.get('/metrics', async (_req, res) => {
      const text = await this.#metrics.render(await this.#state.read());
      res.type(this.#metrics.registry.contentType).send(text);
    });
    app.get('/healthz', (_req, res) => {
      const ok = this.#state.allReady();
      res.status(ok ? 200 : 503).type('text/plain').send(ok ? 'ok\n' : 'starting: not every plugin serves yet\n');
    });
    app.get('/api/topology', async (_req, res) => {
      res.set('Cache-Control', 'no-store').json(await this.#topology());
    });
    app.get('/api/events', (_req, res) => this.#feed.add(res));
    app.use(express.static(pageDir(), { index: 'index.html' }));
    app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      this.#log.error('observe request failed', { err: err.message });
      res.status(500).type('text/plain').send(`${err.message}\n`);
    });
    const server = await new Promise<Server>((resolve, reject) => {
      const s = app.listen(addr.port, addr.host, (err?: Error) => (err ? reject(err) : resolve(s)));
    });
    const bound = server.address();
    const address = bound && typeof bound === 'object' ? `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}` : `${addr.host}:${addr.port}`;
    this.#log.info('serving metrics and the topology page', { address });
    let closing: Promise<void> | undefined;
    return {
      address,
      close: () =>
        (closing ??= new Promise<void>((resolve) => {
          this.#feed.close();
          server.close(() => resolve());
          server.closeAllConnections();
        })),
    };
  }
}
