/**
 * @module A throwaway single-member etcd (Debian's `/usr/bin/etcd`) for tests: its data under
 * `/tmp/tstest-etcd-<hex>` (the leak check's prefix), free client and peer ports, optionally inside a
 * test's network namespace (`ip netns exec`). It can be killed and started again on the same data, or
 * frozen, to test what happens while etcd is away. With `tls`, it serves clients over TLS and wants a
 * client certificate (`--client-cert-auth`), its certificates made in `<dataDir>/pki` (testing/cluster/pki.ts);
 * {@link enableTestEtcdAuth} turns on etcd's user/password auth through the JSON API. Callers stop it in
 * `afterAll`/`finally` (or use {@link useTestEtcd}); should the test process exit first, the member is
 * killed and its directory removed on the way out.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { afterAll, beforeAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { createEtcdClient } from '../../common/cluster/etcd-client.js';
import type { EtcdSecurity } from '../../common/cluster/etcd-security.js';
import { b64, prefixEnd } from '../../common/cluster/etcd-wire.js';
import { KEY_ROOT, type EtcdClient } from '../../common/cluster/types.js';
import { run, start as startProcess, type Child } from '../../common/kernel/exec.js';
import { makeTestPki, type TestPki } from './pki.js';

const ETCD = '/usr/bin/etcd';
/** Logged (zap) once the member has a leader and serves clients. */
const READY = /serving client traffic|ready to serve client requests/;
const START_TIMEOUT_MS = 20_000;

export interface TestEtcdOptions {
  /** Run inside this network namespace (a name under /run/netns). */
  netns?: string;
  /** The address to listen on; default 127.0.0.1. Inside a namespace, one of its addresses. */
  listenIp?: string;
  /** Serve clients over TLS only, and only to clients with a certificate of the test CA. */
  tls?: boolean;
  /** etcd's `--auth-token-ttl` (seconds a simple token lives unused; etcd's default 300). */
  authTokenTtl?: number;
}

export interface TestEtcd {
  /** `etcd://ip:port` (`etcds://` with TLS), as `--cluster-store` takes it. */
  url: string;
  /** `http://ip:port` (`https://` with TLS), as createEtcdClient takes them. */
  endpoints: string[];
  dataDir: string;
  /** The network namespace it runs in, if not ours. */
  netns?: string;
  /** With `tls`: the certificate files. */
  pki?: TestPki;
  /** What a client needs: with `tls`, the test CA and client certificate (no auth). */
  security: EtcdSecurity;
  /** Kills the member and removes its data. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL; the data stays for {@link start}. */
  kill9(): Promise<void>;
  /** Starts the member again on the same data and ports; resolves once it serves. */
  start(): Promise<void>;
  /** SIGSTOP: connections stay open but nothing answers (a half-open etcd). */
  pause(): void;
  /** SIGCONT after {@link pause}. */
  resume(): void;
}

/** A port nobody listens on now, in our own namespace. */
export async function freePort(ip: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, ip, () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Starts a member and resolves once it serves clients. */
export async function startTestEtcd(opts: TestEtcdOptions = {}): Promise<TestEtcd> {
  const ip = opts.listenIp ?? '127.0.0.1';
  const host = ip.includes(':') ? `[${ip}]` : ip;
  // A fresh namespace has every port free; in ours, ask the kernel for unused ones.
  const randomPort = () => 20_000 + (randomBytes(2).readUInt16BE() % 20_000);
  const [clientPort, peerPort] = opts.netns ? [randomPort(), randomPort() + 1] : [await freePort(ip), await freePort(ip)];
  const dataDir = `/tmp/tstest-etcd-${randomBytes(4).toString('hex')}`;
  mkdirSync(dataDir, { mode: 0o700 });
  let pki: TestPki | undefined;
  if (opts.tls) {
    mkdirSync(`${dataDir}/pki`);
    pki = await makeTestPki(`${dataDir}/pki`, [ip]);
  }
  const client = `${pki ? 'https' : 'http'}://${host}:${clientPort}`;
  const peer = `http://${host}:${peerPort}`;
  const args = [
    '--name=tstest',
    `--data-dir=${dataDir}/member`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=tstest=${peer}`,
    '--logger=zap',
    '--log-outputs=stderr',
    // One member: a short election timeout makes a restart serve sooner.
    '--heartbeat-interval=50',
    '--election-timeout=300',
    ...(pki ? [`--cert-file=${pki.serverCert}`, `--key-file=${pki.serverKey}`, `--trusted-ca-file=${pki.ca}`, '--client-cert-auth'] : []),
    ...(opts.authTokenTtl !== undefined ? [`--auth-token-ttl=${opts.authTokenTtl}`] : []),
  ];
  const argv = opts.netns ? ['ip', 'netns', 'exec', opts.netns, ETCD, ...args] : [ETCD, ...args];

  let child: Child | undefined;
  let exited: Promise<unknown> = Promise.resolve();
  const killNow = () => child?.kill('SIGKILL');
  const cleanupOnExit = () => {
    killNow();
    rmSync(dataDir, { recursive: true, force: true });
  };
  process.once('exit', cleanupOnExit);

  const start = async () => {
    const proc = startProcess(argv, { stdout: 'ignore', stderr: 'pipe', env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' } });
    child = proc;
    exited = proc.done;
    const tail: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(`did not serve within ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
      const fail = (why: string) => {
        clearTimeout(timer);
        proc.kill('SIGKILL');
        reject(new Error(`test etcd ${why}; last lines:\n${tail.join('\n')}`));
      };
      let partial = '';
      proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          tail.push(line);
          if (tail.length > 20) tail.shift();
          if (READY.test(line)) {
            clearTimeout(timer);
            resolve();
          }
        }
      });
      void proc.done.then(({ code, signal, startError }) => fail(startError ? `could not start: ${startError}` : `exited (${signal ?? `code ${code}`})`));
    });
  };

  const kill9 = async () => {
    killNow();
    await exited;
  };

  try {
    await start();
  } catch (err) {
    process.off('exit', cleanupOnExit);
    cleanupOnExit();
    throw err;
  }
  const read = (file: string) => readFileSync(file, 'utf8');
  return {
    url: `${pki ? 'etcds' : 'etcd'}://${host}:${clientPort}`,
    endpoints: [client],
    dataDir,
    ...(opts.netns !== undefined && { netns: opts.netns }),
    ...(pki && { pki }),
    security: pki ? { tls: { ca: read(pki.ca), cert: read(pki.clientCert), key: read(pki.clientKey) } } : {},
    start,
    kill9,
    async stop() {
      await kill9();
      process.off('exit', cleanupOnExit);
      rmSync(dataDir, { recursive: true, force: true });
    },
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
  };
}

/**
 * Node program run where the member listens (in its namespace): reads `{url, tls?, auth?, calls}` on
 * stdin (`tls` file paths, `calls` as `[path, body]`), authenticates first with `auth`, POSTs each call
 * with the token, and prints the JSON answers; a gateway error or a failed call exits 1, saying why.
 */
const GATEWAY = `const https = require('node:https'), http = require('node:http'), fs = require('node:fs');
let input = ''; process.stdin.on('data', (d) => (input += d)).on('end', async () => {
  const { url, tls, auth, calls } = JSON.parse(input);
  const tlsOpts = tls ? { ca: fs.readFileSync(tls.ca), cert: fs.readFileSync(tls.cert), key: fs.readFileSync(tls.key) } : {};
  const post = (path, body, token) => new Promise((resolve, reject) => {
    const req = (url.startsWith('https:') ? https : http).request(url + path, { method: 'POST', ...tlsOpts, headers: token ? { Authorization: token } : {} }, (res) => {
      let t = ''; res.on('data', (d) => (t += d)).on('end', () => { const j = JSON.parse(t); j.error ? reject(new Error(path + ': ' + JSON.stringify(j))) : resolve(j); });
    });
    req.on('error', reject); req.end(JSON.stringify(body));
  });
  try {
    const token = auth ? (await post('/v3/auth/authenticate', { name: auth.user, password: auth.password })).token : undefined;
    const out = [];
    for (const [path, body] of calls) out.push(await post(path, body, token));
    console.log(JSON.stringify(out));
  } catch (err) { console.error(err.message); process.exit(1); }
});`;

/**
 * POSTs `calls` (`[path, body]`) to the member's JSON gateway from where it listens (its namespace),
 * over TLS with the test client certificate when it has one, authenticated as `auth` when given.
 * @returns the answers, in order.
 */
export async function etcdGateway(etcd: TestEtcd, calls: Array<[path: string, body: unknown]>, auth?: { user: string; password: string }): Promise<unknown[]> {
  const pki = etcd.pki;
  const input = JSON.stringify({ url: etcd.endpoints[0], ...(pki && { tls: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey } }), ...(auth && { auth }), calls });
  const argv = [...(etcd.netns ? ['ip', 'netns', 'exec', etcd.netns] : []), process.execPath, '-e', GATEWAY];
  const r = await run(argv, { input, object: `test etcd ${etcd.url}`, step: `call ${calls.map(([path]) => path).join(', ')}` });
  return JSON.parse(r.stdout) as unknown[];
}

/**
 * Turns on etcd's auth the way etcd's docs do: a `root` user (role root) with `rootPassword`, and `user`
 * with a role of its own that may read and write every key under `/tsnet/v1/`, then `auth enable`.
 * Requests after this need a token.
 */
export async function enableTestEtcdAuth(etcd: TestEtcd, user: { name: string; password: string }, rootPassword: string): Promise<void> {
  await etcdGateway(etcd, [
    ['/v3/auth/user/add', { name: 'root', password: rootPassword }],
    ['/v3/auth/user/grant', { user: 'root', role: 'root' }],
    ['/v3/auth/role/add', { name: user.name }],
    ['/v3/auth/role/grant', { name: user.name, perm: { permType: 'READWRITE', key: b64(KEY_ROOT), range_end: b64(prefixEnd(KEY_ROOT)) } }],
    ['/v3/auth/user/add', { name: user.name, password: user.password }],
    ['/v3/auth/user/grant', { user: user.name, role: user.name }],
    ['/v3/auth/enable', {}],
  ]);
}

/**
 * For a test file: one member started before its tests and stopped after them, and a client of it
 * (1 s timeout). The fields are set once `beforeAll` has run.
 */
export function useTestEtcd(opts: TestEtcdOptions = {}): { etcd: TestEtcd; client: EtcdClient } {
  const ctx = {} as { etcd: TestEtcd; client: EtcdClient };
  beforeAll(async () => {
    ctx.etcd = await startTestEtcd(opts);
    ctx.client = createEtcdClient(ctx.etcd.endpoints, { timeoutMs: 1000, security: ctx.etcd.security });
  }, 30_000);
  afterAll(async () => {
    ctx.client?.close();
    await ctx.etcd?.stop();
  });
  return ctx;
}
