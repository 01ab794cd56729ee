/**
 * @module The DNS load generator of bench/dns-bench.ts, run inside a container's network namespace
 * (`nsenter -t PID -n node build/tools/bench/dns-probe.js …`) so that its queries come from the container, as
 * a resolver library's would. Queries are built with dns-packet. Prints one JSON line.
 *
 *   latency    SERVER NAME COUNT           one query at a time: each answer's time in ms
 *   throughput SERVER NAME SECONDS WINDOW  WINDOW queries in flight, for SECONDS: answers per second
 *   wait       SERVER NAME IP TIMEOUT_MS    asks every 5 ms until NAME resolves to IP: when (epoch ms)
 *   watch      SERVER INTERVAL_MS          reads `NAME IP` lines on stdin; asks each such name every
 *                                          INTERVAL_MS until it resolves to its IP, then prints `NAME` on a
 *                                          line of its own at once (the reader timestamps it); ends with stdin
 */
import { createSocket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import * as dns from 'dns-packet';

const [mode, server, name, ...rest] = process.argv.slice(2);
const sock = createSocket('udp4');
let nextId = 1;
const waiting = new Map<number, (p: dns.Packet) => void>();
sock.on('message', (m) => {
  try {
    const p = dns.decode(m);
    waiting.get(p.id ?? -1)?.(p);
    waiting.delete(p.id ?? -1);
  } catch {
    // not an answer of ours
  }
});

/** One A query for `qname`; resolves with the answer, or undefined after `timeoutMs`. */
function ask(timeoutMs = 1000, qname = name!): Promise<dns.Packet | undefined> {
  const id = (nextId = (nextId % 0xffff) + 1);
  return new Promise((resolve) => {
    const t = setTimeout(() => (waiting.delete(id), resolve(undefined)), timeoutMs);
    waiting.set(id, (p) => (clearTimeout(t), resolve(p)));
    sock.send(dns.encode({ type: 'query', id, flags: dns.RECURSION_DESIRED, questions: [{ type: 'A', name: qname }] }), 53, server!);
  });
}

const addresses = (p: dns.Packet | undefined) => (p?.answers ?? []).filter((a) => a.type === 'A').map((a) => (a as { data: string }).data);

async function main(): Promise<unknown> {
  if (mode === 'latency') {
    const ms: number[] = [];
    let failed = 0;
    for (let i = 0; i < Number(rest[0]); i++) {
      const t0 = performance.now();
      const p = await ask();
      if (addresses(p).length > 0) ms.push(performance.now() - t0);
      else failed++;
    }
    return { ms, failed };
  }
  if (mode === 'throughput') {
    const end = performance.now() + Number(rest[0]) * 1000;
    let answered = 0;
    const worker = async () => {
      while (performance.now() < end) if (addresses(await ask()).length > 0) answered++;
    };
    await Promise.all(Array.from({ length: Number(rest[1]) }, worker));
    return { perSecond: answered / Number(rest[0]) };
  }
  if (mode === 'wait') {
    // A query every 5 ms, not waiting for the one before: the first answer with IP ends it.
    const deadline = Date.now() + Number(rest[1]);
    return new Promise((resolve) => {
      const tick = setInterval(() => {
        if (Date.now() > deadline) return (clearInterval(tick), resolve({ at: null }));
        void ask(500).then((p) => addresses(p).includes(rest[0]!) && (clearInterval(tick), resolve({ at: Date.now() })));
      }, 5);
    });
  }
  if (mode === 'watch') {
    const pending = new Map<string, string>();
    let input = '';
    let open = true;
    process.stdin.on('data', (chunk: Buffer) => {
      const lines = (input + chunk.toString()).split('\n');
      input = lines.pop()!;
      for (const l of lines) {
        const [n, ip] = l.trim().split(' ');
        if (n && ip) pending.set(n, ip);
      }
    });
    process.stdin.on('end', () => (open = false));
    return new Promise((resolve) => {
      const tick = setInterval(() => {
        if (!open) return (clearInterval(tick), resolve({ unresolved: [...pending.keys()] }));
        for (const [n, ip] of pending) {
          void ask(500, n).then((p) => {
            if (pending.has(n) && addresses(p).includes(ip)) {
              pending.delete(n);
              process.stdout.write(`${n}\n`);
            }
          });
        }
      }, Number(name));
    });
  }
  throw new Error(`unknown mode ${mode}: latency, throughput, wait or watch`);
}

main().then(
  (out) => {
    console.log(JSON.stringify(out));
    sock.close();
  },
  (err: unknown) => {
    console.error((err as Error).message);
    process.exit(1);
  },
);
