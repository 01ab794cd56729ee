/**
 * @module A tiny upstream DNS server for tests (the forwarder must never reach a real resolver): UDP on
 * a loopback or test-namespace address, answering A queries from a fixed table (NXDOMAIN otherwise)
 * and recording every question it got. In-process with {@link startFakeUpstream}, or in a namespace as a
 * program: `node dist/names/testing/fake-upstream.js HOST PORT NAME=IP…` (prints `ready` once it listens).
 */
import { createSocket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import * as dns from 'dns-packet';

export interface FakeUpstream {
  readonly host: string;
  readonly port: number;
  /** Names asked so far, in order. */
  readonly asked: string[];
  close(): Promise<void>;
}

/** Answers `records` (name → IPv4) on `host`:`port` (0: any free port). */
export async function startFakeUpstream(records: Record<string, string>, host = '127.0.0.1', port = 0): Promise<FakeUpstream> {
  const sock = createSocket('udp4');
  const asked: string[] = [];
  sock.on('message', (msg, rinfo) => {
    let q: dns.Packet;
    try {
      q = dns.decode(msg);
    } catch {
      return;
    }
    const question = q.questions?.[0];
    if (!question) return;
    asked.push(question.name);
    const ip = records[question.name.toLowerCase()];
    const answers: dns.Answer[] = ip !== undefined && question.type === 'A' ? [{ type: 'A', class: 'IN', name: question.name, ttl: 60, data: ip }] : [];
    const rcode = ip === undefined ? 3 : 0;
    sock.send(dns.encode({ id: q.id ?? 0, type: 'response', flags: dns.RECURSION_AVAILABLE | rcode, questions: [question], answers }), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, host, () => resolve());
  });
  return {
    host,
    port: sock.address().port,
    asked,
    close: () => new Promise((resolve) => sock.close(() => resolve())),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [host, port, ...pairs] = process.argv.slice(2);
  const records = Object.fromEntries(pairs.map((p) => p.split('=') as [string, string]));
  void startFakeUpstream(records, host, Number(port)).then(() => console.log('ready'));
}
