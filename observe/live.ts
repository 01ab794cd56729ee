/**
 * @module Live topology for the page: `GET /api/events` is a server-sent event stream whose `topology`
 * events carry the same JSON as `/api/topology`, sent on connect and then whenever it changes. A change
 * is looked for shortly after plugin calls (most changes are calls: a network, a container, a volume)
 * and on a slow tick (what changes without a call: volume usage, other hosts' endpoints, etcd); an
 * unchanged topology is not sent again. With no client connected nothing is read. A comment line keeps
 * idle connections open through proxies.
 */
import type { Response } from 'express';
import { Coalesced } from '../common/coalesce.js';

export interface LiveOptions {
  /** Calls within this time share one read. */
  debounceMs?: number;
  /** A read at least this often while a client is connected. */
  tickMs?: number;
  /** A keep-alive comment this often. */
  keepAliveMs?: number;
}

/** The parts of the topology that do not count as a change (the read's own time). */
const comparable = (t: Record<string, unknown>) => JSON.stringify({ ...t, time: undefined });

export class TopologyFeed {
  readonly #clients = new Set<Response>();
  readonly #read: () => Promise<Record<string, unknown>>;
  readonly #onError: (err: Error) => void;
  readonly #debounceMs: number;
  readonly #tickMs: number;
  readonly #keepAliveMs: number;
  #last = '';
  #pending: NodeJS.Timeout | undefined;
  #tick: NodeJS.Timeout | undefined;
  #keepAlive: NodeJS.Timeout | undefined;
  /** One read at a time; a change noticed during a read reads once more after it. */
  readonly #reads: Coalesced;

  constructor(read: () => Promise<Record<string, unknown>>, onError: (err: Error) => void, opts: LiveOptions = {}) {
    this.#read = read;
    this.#onError = onError;
    this.#debounceMs = opts.debounceMs ?? 100;
    this.#tickMs = opts.tickMs ?? 5000;
    this.#keepAliveMs = opts.keepAliveMs ?? 15_000;
    this.#reads = new Coalesced(() => this.#readAndSend(), (err) => this.#onError(err as Error));
  }

  /** Takes an event-stream response: headers now, the current topology at once, then every change. */
  add(res: Response): void {
    res.status(200).set({ 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
    res.flushHeaders();
    res.write('retry: 2000\n\n');
    this.#clients.add(res);
    res.on('close', () => {
      this.#clients.delete(res);
      if (this.#clients.size === 0) this.#stopTimers();
    });
    this.#tick ??= setInterval(() => this.changed(), this.#tickMs).unref();
    this.#keepAlive ??= setInterval(() => this.#broadcast(': keep-alive\n\n'), this.#keepAliveMs).unref();
    this.#last = ''; // the new client gets the topology even if nothing changed
    this.changed();
  }

  /** Something may have changed (a plugin call was answered): read soon, send if it differs. Cheap when no client listens. */
  changed(): void {
    if (this.#clients.size === 0 || this.#pending) return;
    this.#pending = setTimeout(() => {
      this.#pending = undefined;
      this.#reads.request();
    }, this.#debounceMs).unref();
  }

  /** Ends every stream and stops the timers. */
  close(): void {
    for (const res of this.#clients) res.end();
    this.#clients.clear();
    this.#stopTimers();
  }

  /** Reads the topology and sends it if it changed (nobody listening: nothing is read). */
  async #readAndSend(): Promise<void> {
    if (this.#clients.size === 0) return;
    const t = await this.#read();
    const key = comparable(t);
    if (key !== this.#last) {
      this.#last = key;
      this.#broadcast(`event: topology\ndata: ${JSON.stringify(t)}\n\n`);
    }
  }

  #broadcast(text: string): void {
    for (const res of this.#clients) res.write(text);
  }

  #stopTimers(): void {
    for (const t of [this.#pending, this.#tick, this.#keepAlive]) if (t) clearTimeout(t);
    this.#pending = this.#tick = this.#keepAlive = undefined;
  }
}
