/**
 * @module The DNS responder: UDP and TCP on one address, wire format by dns-packet. A query is
 * rate-limited by its source address first (before it is even decoded), then answered from the
 * {@link NameRegistry} for what the asker may see (A, AAAA, PTR of container names, aliases and short
 * IDs), or forwarded upstream. Our answers are authoritative with a short TTL, so a name that leaves
 * is gone from caches within seconds. Malformed messages are dropped (counted), never thrown.
 */
import { createSocket, type Socket } from 'node:dgram';
import { createServer, isIPv6, type Server, type Socket as TcpSocket } from 'node:net';
import { performance } from 'node:perf_hooks';
import * as dns from 'dns-packet';
import { errorFields, type Logger } from '../common/log.js';
import type { Forwarder } from './forwarder.js';
import type { DnsMetrics } from './metrics.js';
import type { RateLimiter } from './rate-limit.js';
import type { NameRegistry } from './registry.js';

/** TTL of our answers, seconds: short, so that a removed container stops resolving quickly. */
export const ANSWER_TTL = 2;
/** Largest UDP answer without EDNS; larger ones are sent truncated (TC) so the asker retries on TCP. */
const UDP_MAX = 512;
const TCP_MAX_CONNECTIONS = 256;
const TCP_IDLE_MS = 10_000;
const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3 } as const;

export interface ResponderOptions {
  addr: string;
  /** Default 53. */
  port?: number;
  registry: Pick<NameRegistry, 'lookup' | 'reverse'>;
  forwarder: Pick<Forwarder, 'forward'>;
  limiter: Pick<RateLimiter, 'take'>;
  metrics?: DnsMetrics;
  log: Logger;
}

/** The address a PTR name stands for, or undefined when it is not a full reverse name. */
export function addressOfPtr(name: string): string | undefined {
  const n = name.toLowerCase().replace(/\.$/, '');
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.in-addr\.arpa$/.exec(n);
  if (v4) {
    const parts = v4.slice(1, 5).reverse().map(Number);
    return parts.every((p) => p <= 255) ? parts.join('.') : undefined;
  }
  const v6 = /^((?:[0-9a-f]\.){32})ip6\.arpa$/.exec(n);
  if (!v6) return undefined;
  const nibbles = v6[1]!.split('.').filter((x) => x !== '').reverse().join('');
  const groups = nibbles.match(/.{4}/g)!.map((g) => g.replace(/^0{1,3}/, ''));
  return canonicalV6(groups.join(':'));
}

/** RFC 5952 text of a full 8-group IPv6 address (longest zero run as `::`). */
function canonicalV6(full: string): string {
  const groups = full.split(':');
  let best = { at: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > best.len && j - i > 1) best = { at: i, len: j - i };
    i = j;
  }
  if (best.at < 0) return groups.join(':');
  return `${groups.slice(0, best.at).join(':')}::${groups.slice(best.at + best.len).join(':')}`;
}

/** A running responder. */
export interface Responder {
  /** The UDP/TCP port it listens on (the one asked, or the one given for port 0). */
  readonly port: number;
  close(): Promise<void>;
}

/**
 * The answer to one query message from `source`, or undefined to send nothing (rate-limited or not
 * a DNS message). Exported for tests; {@link listenResponder} wraps it in sockets.
 */
export async function answerQuery(opts: ResponderOptions, source: string, msg: Buffer, maxSize: number): Promise<Buffer | undefined> {
  const t0 = performance.now();
  const { metrics } = opts;
  if (!opts.limiter.take(source)) {
    metrics?.query('rate_limited');
    return undefined;
  }
  let q: dns.Packet;
  try {
    q = dns.decode(msg);
  } catch {
    metrics?.query('malformed');
    return undefined;
  }
  const question = q.questions?.[0];
  if (q.type !== 'query' || !question || q.questions!.length !== 1) {
    metrics?.query('malformed');
    return reply(q, RCODE.FORMERR, [], maxSize);
  }
  const local = localAnswers(opts, source, question);
  if (local) {
    metrics?.query('local');
    const out = reply(q, RCODE.NOERROR, local, maxSize, true);
    metrics?.answered('local', (performance.now() - t0) / 1000);
    return out;
  }
  const forwarded = await opts.forwarder.forward(msg);
  if (!forwarded) {
    metrics?.query('forward_failed');
    return reply(q, RCODE.SERVFAIL, [], maxSize);
  }
  metrics?.query('forwarded');
  metrics?.answered('upstream', (performance.now() - t0) / 1000);
  return forwarded;
}

/** Our records for `question`, or undefined when the name is not ours. */
function localAnswers(opts: ResponderOptions, source: string, question: dns.Question): dns.Answer[] | undefined {
  if (question.class !== undefined && question.class !== 'IN') return undefined;
  const name = question.name;
  if (question.type === 'PTR') {
    const ip = addressOfPtr(name);
    const names = ip === undefined ? undefined : opts.registry.reverse(source, ip);
    return names?.map((data) => ({ type: 'PTR', class: 'IN', name, ttl: ANSWER_TTL, data }));
  }
  const v4 = opts.registry.lookup(source, name, 4);
  if (!v4) return undefined;
  if (question.type === 'A') return v4.addresses.map((data) => ({ type: 'A', class: 'IN', name, ttl: ANSWER_TTL, data }));
  if (question.type === 'AAAA') {
    const v6 = opts.registry.lookup(source, name, 6)!;
    return v6.addresses.map((data) => ({ type: 'AAAA', class: 'IN', name, ttl: ANSWER_TTL, data }));
  }
  return []; // the name is ours, with no record of that type
}

function reply(q: dns.Packet, rcode: number, answers: dns.Answer[], maxSize: number, authoritative = false): Buffer | undefined {
  const flags = (q.flags ?? 0) & dns.RECURSION_DESIRED;
  const base = { id: q.id ?? 0, type: 'response' as const, questions: q.questions ?? [] };
  let flagsOut = flags | dns.RECURSION_AVAILABLE | (authoritative ? dns.AUTHORITATIVE_ANSWER : 0) | rcode;
  try {
    let out = dns.encode({ ...base, flags: flagsOut, answers });
    if (out.length > maxSize) {
      flagsOut |= dns.TRUNCATED_RESPONSE;
      out = dns.encode({ ...base, flags: flagsOut, answers: [] });
    }
    return out;
  } catch {
    return undefined; // a question dns-packet decoded but cannot encode back: nothing sensible to answer
  }
}

/** Listens on UDP and TCP at `opts.addr`:`opts.port`. */
export async function listenResponder(opts: ResponderOptions): Promise<Responder> {
  const { log } = opts;
  const udp: Socket = createSocket({ type: isIPv6(opts.addr) ? 'udp6' : 'udp4', reuseAddr: false });
  udp.on('message', (msg, rinfo) => {
    answerQuery(opts, rinfo.address, msg, UDP_MAX).then(
      (out) => out && udp.send(out, rinfo.port, rinfo.address),
      (err: unknown) => log.warn('dns query failed', errorFields(err)),
    );
  });
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(opts.port ?? 53, opts.addr, () => {
      udp.off('error', reject);
      resolve();
    });
  });
  udp.on('error', (err) => log.warn('dns udp socket error', errorFields(err)));
  const port = udp.address().port;

  const tcp: Server = createServer((sock) => serveTcp(opts, sock));
  tcp.maxConnections = TCP_MAX_CONNECTIONS;
  try {
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(port, opts.addr, () => {
        tcp.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    udp.close();
    throw err;
  }
  tcp.on('error', (err) => log.warn('dns tcp server error', errorFields(err)));
  return {
    port,
    async close() {
      await Promise.all([new Promise<void>((r) => udp.close(() => r())), new Promise<void>((r) => tcp.close(() => r()))]);
    },
  };
}

/** One TCP connection: length-prefixed messages, answered in order. */
function serveTcp(opts: ResponderOptions, sock: TcpSocket): void {
  const source = sock.remoteAddress ?? '';
  let buffered = Buffer.alloc(0);
  let chain: Promise<void> = Promise.resolve();
  sock.setTimeout(TCP_IDLE_MS, () => sock.destroy());
  sock.on('error', () => sock.destroy());
  sock.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 2) {
      const len = buffered.readUInt16BE(0);
      if (buffered.length < 2 + len) break;
      const msg = buffered.subarray(2, 2 + len);
      buffered = buffered.subarray(2 + len);
      chain = chain.then(async () => {
        const out = await answerQuery(opts, source, Buffer.from(msg), 0xffff).catch(() => undefined);
        if (!out || sock.destroyed) return;
        const head = Buffer.alloc(2);
        head.writeUInt16BE(out.length);
        sock.write(Buffer.concat([head, out]));
      });
    }
  });
}
