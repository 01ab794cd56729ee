/**
 * @module One prefix watch over the gateway's `/v3/watch` stream (newline-separated `{"result": …}`
 * messages), kept going until closed: it reconnects with a backoff capped at one second and resumes at
 * the revision after the last event it delivered, so no event is lost or repeated across an outage. A
 * compacted resume revision becomes `onReset` and a fresh start at the current revision. A stream that
 * has been silent for a second is checked with a cheap request to the same endpoint, so a dead or
 * frozen etcd (a half-open connection) is noticed within about two seconds. With etcd auth, the stream
 * is opened with the client's token; a watch refused or canceled for an expired token (etcd 3.4 cancels
 * it as "permission denied") reconnects with a new one.
 */
import type http from 'node:http';
import { EtcdError, EtcdHttp, statusError, tlsFailure, withTlsHint } from './etcd-http.js';
import { decodeEvents, int, keyRange, type WireResponse, type WireWatchResult } from './etcd-wire.js';
import type { Watch, WatchHandlers } from './types.js';

const BACKOFF_MIN_MS = 100;
/** Convergence after an etcd restart matters more than sparing it a few connection attempts. */
const BACKOFF_MAX_MS = 1000;
/** A stream silent this long is checked; the check has as long to answer. */
const PROBE_MS = 1000;

export class PrefixWatch implements Watch {
  /** The revision to (re)start from; 0 until known when watching from "now". */
  #next: number;
  #closed = false;
  /** As last reported through onConnection (a new watch counts as connected). */
  #up = true;
  #attempt = 0;
  #backoff = BACKOFF_MIN_MS;
  #req: http.ClientRequest | undefined;
  #retry: NodeJS.Timeout | undefined;
  #probe: NodeJS.Timeout | undefined;

  constructor(
    private readonly http: EtcdHttp,
    private readonly prefix: string,
    fromRevision: number,
    private readonly handlers: WatchHandlers,
  ) {
    this.#next = Math.max(0, fromRevision);
    this.#connect();
  }

  close(): void {
    this.#closed = true;
    this.#stopStream();
    clearTimeout(this.#retry);
  }

  #stopStream(): void {
    clearInterval(this.#probe);
    this.#req?.destroy();
    this.#req = undefined;
  }

  /** Opens the stream once there is a token (with auth); a failure to get one is a lost connection. */
  #connect(): void {
    this.http.token().then(
      (token) => this.#closed || this.#open(token),
      (err: unknown) => this.#closed || this.#lost(err instanceof Error ? err : new Error(String(err))),
    );
  }

  #open(token: string | undefined): void {
    const order = this.http.order();
    const endpoint = order[this.#attempt % order.length]!;
    const body = { create_request: { ...keyRange(this.prefix, true), start_revision: String(this.#next), progress_notify: true } };
    let buffer = '';
    let lastData = Date.now();
    let done = false;
    /** Ends this stream once; `err` undefined: ended on purpose (compaction), no reconnection here. */
    const end = (err?: Error) => {
      if (done || this.#closed) return;
      done = true;
      this.#stopStream();
      if (err) this.#lost(err);
    };
    const req = this.http.request(endpoint, '/v3/watch', body, this.http.timeoutMs, token, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        lastData = Date.now();
        buffer += chunk;
        for (let nl = buffer.indexOf('\n'); nl >= 0 && !done; nl = buffer.indexOf('\n')) {
          const line = buffer.slice(0, nl).trim();
          buffer = buffer.slice(nl + 1);
          if (line !== '') this.#message(line, token, end);
        }
      });
      res.on('error', (err) => end(err));
      res.on('close', () => end(new Error(`watch stream from ${endpoint} ended`)));
      let probing = false;
      this.#probe = setInterval(() => {
        if (probing || Date.now() - lastData < PROBE_MS) return;
        probing = true;
        this.http
          .post(endpoint, '/v3/kv/range', { ...keyRange(this.prefix, true), count_only: true }, 'check the watch', PROBE_MS)
          .then(() => (lastData = Date.now()))
          .catch((err: unknown) => end(new Error(`etcd at ${endpoint} stopped answering (${err instanceof Error ? err.message : String(err)})`)))
          .finally(() => (probing = false));
      }, PROBE_MS);
    });
    req.on('error', (err) => end(tlsFailure(endpoint, err) ?? new Error(`${endpoint}: ${withTlsHint(endpoint, err).message}`)));
    this.#req = req;
  }

  #message(line: string, token: string | undefined, end: (err?: Error) => void): void {
    let msg: { result?: WireWatchResult; error?: unknown };
    try {
      msg = JSON.parse(line) as typeof msg;
    } catch {
      end(new Error(`unreadable watch message "${line.slice(0, 80)}"`));
      return;
    }
    const refused = statusError(msg, `watch ${this.prefix}`);
    // An expired token: the reconnection asks for a new one and resumes where this stream stopped.
    if (refused && EtcdHttp.expired(refused)) this.http.dropToken(token);
    if (refused) return end(refused);
    const r = msg.result ?? {};
    const revision = int(r.header?.revision);
    if (r.canceled) {
      if (int(r.compact_revision) > 0) {
        end();
        void this.#restartAfterCompaction();
      } else {
        // etcd cancels a watch whose token is no longer valid as "permission denied": try a new token.
        this.http.dropToken(token);
        end(new EtcdError(`etcd canceled the watch of ${this.prefix}: ${r.cancel_reason || 'no reason given'}`, 1));
      }
      return;
    }
    if (r.created) {
      if (this.#next === 0) this.#next = revision + 1;
      this.#connected();
      return;
    }
    const events = decodeEvents(r);
    const last = events.at(-1)?.kv.modRevision;
    if (last === undefined) {
      // A progress notification: every event up to `revision` has been sent.
      this.#next = Math.max(this.#next, revision + 1);
      return;
    }
    this.#next = last + 1;
    this.handlers.onEvents(events, last);
  }

  /** The resume revision was compacted away: the caller re-reads, and the watch goes on from now. */
  async #restartAfterCompaction(): Promise<void> {
    try {
      const now = await this.http.call<WireResponse>('/v3/kv/range', { ...keyRange(this.prefix, true), count_only: true }, `read the revision of ${this.prefix}`);
      if (this.#closed) return;
      this.#next = int(now.header?.revision) + 1;
      this.handlers.onReset();
      this.#connect();
    } catch (err) {
      if (!this.#closed) this.#lost(err instanceof Error ? err : new Error(String(err)));
    }
  }

  #connected(): void {
    this.#backoff = BACKOFF_MIN_MS;
    if (this.#up) return;
    this.#up = true;
    this.handlers.onConnection?.(true);
  }

  #lost(err: Error): void {
    if (this.#up) {
      this.#up = false;
      this.handlers.onConnection?.(false, err);
    }
    this.#attempt++;
    this.#retry = setTimeout(() => this.#connect(), this.#backoff);
    this.#backoff = Math.min(this.#backoff * 2, BACKOFF_MAX_MS);
  }
}
