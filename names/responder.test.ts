/**
 * The responder over real sockets on loopback, with a real registry and a fake upstream: A, AAAA and
 * PTR of container names for the containers allowed to see them (the asker is 127.0.0.1 here, made a
 * container of network `net:a`), NODATA for a known name of another type, forwarding of the rest with
 * the asker's ID, SERVFAIL when no upstream answers, TCP, malformed input, and the rate limit.
 */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import * as dns from 'dns-packet';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../common/log.js';
import { Forwarder } from './forwarder.js';
import { DnsMetrics } from './metrics.js';
import { RateLimiter } from './rate-limit.js';
import { NameRegistry } from './registry.js';
import { addressOfPtr, answerQuery, listenResponder, type Responder, type ResponderOptions } from './responder.js';
import { startFakeUpstream, type FakeUpstream } from './testing/fake-upstream.js';

/** A decoded answer with the fields dns-packet sets on decode but its type declarations leave out. */
type Reply = dns.DecodedPacket & { rcode: string; flag_aa: boolean };
const decodeReply = (buf: Buffer): Reply => dns.decode(buf) as Reply;

const log = createLogger({ level: 'error' });
let upstream: FakeUpstream;
let responder: Responder;
let opts: ResponderOptions;

beforeAll(async () => {
  upstream = await startFakeUpstream({ 'outside.example': '192.0.2.10' });
  const registry = new NameRegistry({ log, hostId: 'h1' });
  registry.setLocal([
    { networkId: 'a', endpointId: 'e1', containerId: 'asker', scope: 'net:a', names: ['asker'], ipv4: '127.0.0.1' },
    { networkId: 'a', endpointId: 'e2', containerId: 'web', scope: 'net:a', names: ['web', 'www'], ipv4: '10.1.0.2', ipv6: 'fd00:1::2' },
    { networkId: 'b', endpointId: 'e3', containerId: 'db', scope: 'net:b', names: ['db'], ipv4: '10.2.0.2' },
  ]);
  opts = {
    addr: '127.0.0.1',
    port: 0,
    registry,
    forwarder: new Forwarder({ upstreams: [{ host: upstream.host, port: upstream.port }], timeoutMs: 300 }),
    limiter: new RateLimiter({ perSecond: 1e9, burst: 1e9 }),
    log,
  };
  responder = await listenResponder(opts);
});
afterAll(async () => {
  await responder?.close();
  await upstream?.close();
});

function ask(name: string, type: dns.RecordType, id = 7): Promise<Reply> {
  const sock = createSocket('udp4');
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => (sock.close(), reject(new Error(`no answer for ${name} ${type}`))), 2000);
    sock.on('message', (m) => {
      clearTimeout(t);
      sock.close();
      resolve(decodeReply(m));
    });
    sock.send(dns.encode({ type: 'query', id, flags: dns.RECURSION_DESIRED, questions: [{ type, name }] }), responder.port, '127.0.0.1');
  });
}

const data = (p: dns.Packet) => (p.answers ?? []).map((a) => (a as { data: unknown }).data);

describe('DNS responder', () => {
  it('answers A and AAAA of names on the asker\'s network, authoritatively, with the asker\'s ID', async () => {
    const a = await ask('web', 'A', 4242);
    expect({ id: a.id, rcode: a.rcode, aa: a.flag_aa, data: data(a) }).toEqual({ id: 4242, rcode: 'NOERROR', aa: true, data: ['10.1.0.2'] });
    expect(data(await ask('WWW', 'AAAA'))).toEqual(['fd00:1::2']);
    const mx = await ask('web', 'MX');
    expect({ rcode: mx.rcode, n: mx.answers?.length }).toEqual({ rcode: 'NOERROR', n: 0 });
  });

  it('answers PTR of an address on the asker\'s network', async () => {
    expect(data(await ask('2.0.1.10.in-addr.arpa', 'PTR'))).toEqual(['web']);
    const v6 = '2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.0.0.d.f.ip6.arpa';
    expect(addressOfPtr(v6)).toBe('fd00:1::2');
    expect(data(await ask(v6, 'PTR'))).toEqual(['web']);
  });

  it('forwards names that are not the asker\'s (another network\'s too) and relays the upstream\'s answer', async () => {
    const out = await ask('outside.example', 'A', 99);
    expect({ id: out.id, data: data(out) }).toEqual({ id: 99, data: ['192.0.2.10'] });
    const db = await ask('db', 'A');
    expect({ rcode: db.rcode, data: data(db) }).toEqual({ rcode: 'NXDOMAIN', data: [] });
    expect(upstream.asked).toEqual(expect.arrayContaining(['outside.example', 'db']));
  });

  it('answers SERVFAIL when no upstream answers', async () => {
    const dead = await startFakeUpstream({});
    const port = dead.port;
    await dead.close();
    const o = { ...opts, forwarder: new Forwarder({ upstreams: [{ host: '127.0.0.1', port }], timeoutMs: 200 }) };
    const q = dns.encode({ type: 'query', id: 5, questions: [{ type: 'A', name: 'x.example' }] });
    expect(decodeReply((await answerQuery(o, '127.0.0.1', q, 512))!).rcode).toBe('SERVFAIL');
  });

  it('answers over TCP, several queries on one connection', async () => {
    const sock = connect(responder.port, '127.0.0.1');
    const frame = (id: number, name: string) => {
      const m = dns.encode({ type: 'query', id, questions: [{ type: 'A', name }] });
      const head = Buffer.alloc(2);
      head.writeUInt16BE(m.length);
      return Buffer.concat([head, m]);
    };
    const got: dns.Packet[] = [];
    await new Promise<void>((resolve, reject) => {
      let buf = Buffer.alloc(0);
      sock.on('error', reject);
      sock.on('data', (c: Buffer) => {
        buf = Buffer.concat([buf, c]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          got.push(decodeReply(buf.subarray(2, 2 + buf.readUInt16BE(0))));
          buf = buf.subarray(2 + buf.readUInt16BE(0));
        }
        if (got.length === 2) resolve();
      });
      sock.write(Buffer.concat([frame(1, 'web'), frame(2, 'outside.example')]));
    });
    sock.destroy();
    expect(got.map((p) => [p.id, data(p)])).toEqual([
      [1, ['10.1.0.2']],
      [2, ['192.0.2.10']],
    ]);
  });

  it('drops malformed messages, answers FORMERR to a query without a question, and keeps serving', async () => {
    for (const junk of [Buffer.alloc(0), Buffer.from([1, 2, 3]), Buffer.alloc(512, 0xff)]) expect(await answerQuery(opts, '127.0.0.1', junk, 512)).toBeUndefined();
    const none = dns.encode({ type: 'query', id: 3, questions: [] });
    expect(decodeReply((await answerQuery(opts, '127.0.0.1', none, 512))!).rcode).toBe('FORMERR');
    expect(data(await ask('web', 'A'))).toEqual(['10.1.0.2']);
  });

  it('drops queries past a source\'s rate, and only that source\'s', async () => {
    let now = 0;
    const o = { ...opts, limiter: new RateLimiter({ perSecond: 10, burst: 5, now: () => now }) };
    const q = dns.encode({ type: 'query', id: 1, questions: [{ type: 'A', name: 'web' }] });
    const answered = async (src: string, n: number) => {
      let ok = 0;
      for (let i = 0; i < n; i++) if (await answerQuery(o, src, q, 512)) ok++;
      return ok;
    };
    expect(await answered('127.0.0.1', 50)).toBe(5);
    expect(await answered('10.1.0.2', 5)).toBe(5);
    now += 1000;
    expect(await answered('127.0.0.1', 50)).toBe(5);
  });

  it('counts queries by outcome in the metrics', async () => {
    const registry = new Registry();
    const o = { ...opts, metrics: new DnsMetrics(registry, () => ({ local: 3, remote: 4 })), limiter: new RateLimiter({ perSecond: 1, burst: 2 }) };
    const q = (name: string) => dns.encode({ type: 'query', id: 1, questions: [{ type: 'A', name }] });
    await answerQuery(o, '127.0.0.1', q('web'), 512);
    await answerQuery(o, '127.0.0.1', q('outside.example'), 512);
    await answerQuery(o, '127.0.0.1', q('web'), 512);
    await answerQuery(o, '10.9.9.9', Buffer.from([1]), 512);
    const text = await registry.metrics();
    for (const line of ['tsnet_dns_queries_total{outcome="local"} 1', 'tsnet_dns_queries_total{outcome="forwarded"} 1', 'tsnet_dns_queries_total{outcome="rate_limited"} 1', 'tsnet_dns_queries_total{outcome="malformed"} 1', 'tsnet_dns_names{origin="remote"} 4']) {
      expect(text).toContain(line);
    }
    expect(text).toMatch(/tsnet_dns_answer_duration_seconds_count\{source="upstream"\} 1/);
  });
});
