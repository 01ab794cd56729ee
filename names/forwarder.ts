/**
 * @module Forwards queries that are not ours to the upstream resolvers, over UDP, from one socket per
 * address family: each query gets a fresh random ID (so answers cannot be mixed up or spoofed by ID
 * alone: the answer must also come from the upstream asked), then the asker's ID is put back. An
 * upstream that does not answer within the timeout is skipped for the next one. Queries in flight are
 * bounded: past the bound, a query is refused at once (the caller answers SERVFAIL) instead of queued.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Upstream } from './upstreams.js';

export interface ForwarderOptions {
  upstreams: readonly Upstream[];
  /** Per upstream; default 1500 ms. */
  timeoutMs?: number;
  /** Queries in flight at most; default 1024. */
  maxPending?: number;
}

interface Pending {
  upstream: Upstream;
  resolve(answer: Buffer | undefined): void;
  timer: NodeJS.Timeout;
}

export class Forwarder {
  readonly upstreams: readonly Upstream[];
  readonly #timeoutMs: number;
  readonly #maxPending: number;
  readonly #pending = new Map<number, Pending>();
  readonly #sockets = new Map<4 | 6, Socket>();

  constructor(opts: ForwarderOptions) {
    this.upstreams = opts.upstreams;
    this.#timeoutMs = opts.timeoutMs ?? 1500;
    this.#maxPending = opts.maxPending ?? 1024;
  }

  /** Queries in flight. */
  get pending(): number {
    return this.#pending.size;
  }

  /**
   * The upstream's answer to `query` (a whole DNS message) with the asker's ID, or undefined when no
   * upstream answered, there is none, or too many queries are in flight.
   */
  async forward(query: Buffer): Promise<Buffer | undefined> {
    if (query.length < 12) return undefined;
    const id = query.readUInt16BE(0);
    for (const upstream of this.upstreams) {
      if (this.#pending.size >= this.#maxPending) return undefined;
      const answer = await this.#ask(upstream, query);
      if (answer) {
        answer.writeUInt16BE(id, 0);
        return answer;
      }
    }
    return undefined;
  }

  close(): void {
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.resolve(undefined);
    }
    this.#pending.clear();
    for (const s of this.#sockets.values()) s.close();
    this.#sockets.clear();
  }

  #ask(upstream: Upstream, query: Buffer): Promise<Buffer | undefined> {
    let id: number;
    do id = Math.floor(Math.random() * 0x10000);
    while (this.#pending.has(id));
    const out = Buffer.from(query);
    out.writeUInt16BE(id, 0);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        resolve(undefined);
      }, this.#timeoutMs);
      this.#pending.set(id, { upstream, resolve, timer });
      this.#socket(isIPv6(upstream.host) ? 6 : 4).send(out, upstream.port, upstream.host, (err) => {
        if (err && this.#pending.get(id)?.timer === timer) {
          clearTimeout(timer);
          this.#pending.delete(id);
          resolve(undefined);
        }
      });
    });
  }

  #socket(family: 4 | 6): Socket {
    let s = this.#sockets.get(family);
    if (s) return s;
    s = createSocket(family === 4 ? 'udp4' : 'udp6');
    s.on('message', (msg, rinfo) => {
      if (msg.length < 12) return;
      const p = this.#pending.get(msg.readUInt16BE(0));
      if (!p || p.upstream.port !== rinfo.port || !sameIp(p.upstream.host, rinfo.address)) return;
      clearTimeout(p.timer);
      this.#pending.delete(msg.readUInt16BE(0));
      p.resolve(msg);
    });
    s.on('error', () => undefined); // a send error is reported to its callback; nothing else to do
    s.unref();
    this.#sockets.set(family, s);
    return s;
  }
}

const sameIp = (a: string, b: string) => a.replace(/%.*$/, '').toLowerCase() === b.replace(/%.*$/, '').toLowerCase();
