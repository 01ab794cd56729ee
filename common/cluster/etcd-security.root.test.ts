/**
 * The cluster store over TLS with a client certificate, and with etcd's user/password auth, against a
 * real etcd (testing/cluster/etcd.ts, `--client-cert-auth`, certificates made with openssl): the host
 * session, puts, a watch and the lease keep-alive work; a wrong CA, a missing client certificate and a
 * wrong password are refused at start with an error naming the cause; tokens that expire (etcd
 * `--auth-token-ttl=2`) or vanish with an etcd restart break neither the watch nor the lease; and
 * `tsnet serve` never logs the password.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { start } from '../kernel/exec.js';
import { createLogger } from '../log.js';
import { enableTestEtcdAuth, startTestEtcd, useTestEtcd, type TestEtcd } from '../../testing/cluster/etcd.js';
import { pollUntil } from '../../testing/system.js';
import { createEtcdClient, EtcdAuthError, EtcdTlsError, EtcdUnavailableError } from './etcd-client.js';
import { EtcdHttp } from './etcd-http.js';
import type { EtcdSecurity } from './etcd-security.js';
import { HOSTS_PREFIX, openClusterSession } from './session.js';
import { KEY_ROOT, type ClusterSession, type EtcdClient, type WatchEvent } from './types.js';

const log = createLogger({ level: 'error' });
const CLI = join(fileURLToPath(new URL('../..', import.meta.url)), 'dist/cli/tsnet.js');
const USER = { name: 'tstest-tsnet', password: `pw-${randomBytes(8).toString('hex')}` };

/** A state directory removed when the test ends. */
function stateDir(): string {
  const dir = `/tmp/tstest-etcdsec-${randomBytes(4).toString('hex')}`;
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function client(endpoints: string[], security: EtcdSecurity): EtcdClient {
  const c = createEtcdClient(endpoints, { timeoutMs: 1000, security });
  onTestFinished(() => c.close());
  return c;
}

async function session(c: EtcdClient, ttlSeconds: number): Promise<ClusterSession> {
  const s = await openClusterSession({ client: c, stateDir: stateDir(), advertise: '127.0.0.1', ttlSeconds, graceSeconds: 60, log, startTimeoutMs: 5000 });
  onTestFinished(() => s.close());
  return s;
}

/** Watches `prefix` from now and collects the events. */
function collect(c: EtcdClient, prefix: string): WatchEvent[] {
  const events: WatchEvent[] = [];
  const w = c.watchPrefix(prefix, 0, { onEvents: (e) => events.push(...e), onReset: () => undefined });
  onTestFinished(() => w.close());
  return events;
}

/**
 * With `token`: `etcd`'s raw answer to a range of the suite's keys sent with that token (no renewal).
 * Without: a token for `security`'s user, as `{token}`.
 */
async function tokenAnswer(etcd: TestEtcd, security: EtcdSecurity, token?: string): Promise<{ token: string } & Record<string, unknown>> {
  const http = new EtcdHttp(etcd.endpoints, 1000, security);
  try {
    if (token === undefined) return { token: (await http.token())! };
    const text = await new Promise<string>((resolve, reject) => {
      const req = http.request(etcd.endpoints[0]!, '/v3/kv/range', { key: Buffer.from(KEY_ROOT).toString('base64') }, 1000, token, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve(body));
      });
      req.on('error', reject);
    });
    return JSON.parse(text) as { token: string };
  } finally {
    http.close();
  }
}

const seen = (events: WatchEvent[], key: string, value: string) => pollUntil(async () => events.some((e) => e.kv.key === key && e.kv.value === value), { timeoutMs: 10_000, intervalMs: 50 });

describe('the cluster store over TLS with a client certificate', () => {
  const ctx = useTestEtcd({ tls: true });

  it('runs the host session, puts, a watch and the lease keep-alive', async () => {
    expect(ctx.etcd.url).toMatch(/^etcds:\/\//);
    const c = client(ctx.etcd.endpoints, ctx.etcd.security);
    const s = await session(c, 3);
    const events = collect(c, `${KEY_ROOT}tls/`);
    await new Promise((r) => setTimeout(r, 300)); // the watch is created
    await c.put(`${KEY_ROOT}tls/a`, 'one');
    expect(await seen(events, `${KEY_ROOT}tls/a`, 'one')).toBe(true);
    await new Promise((r) => setTimeout(r, 4000)); // longer than the live lease's TTL: only keep-alives hold it
    expect((await c.get(`${HOSTS_PREFIX}${s.hostId}`))?.lease).toBe(s.liveLease());
    await c.put(`${KEY_ROOT}tls/a`, 'two');
    expect(await seen(events, `${KEY_ROOT}tls/a`, 'two')).toBe(true);
  });

  it('refuses a CA that did not sign etcd\'s certificate at start, naming --cluster-ca', async () => {
    const tls = { ...ctx.etcd.security.tls, ca: readFileSync(ctx.etcd.pki!.otherCa, 'utf8') };
    const t0 = Date.now();
    const err = await session(client(ctx.etcd.endpoints, { tls }), 3).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EtcdTlsError);
    expect((err as Error).message).toMatch(/does not trust.*--cluster-ca/);
    expect(Date.now() - t0).toBeLessThan(3000); // a configuration error, not waited out like an outage
  });

  it('refuses a missing client certificate at start, naming --cluster-cert', async () => {
    const err = await session(client(ctx.etcd.endpoints, { tls: { ca: ctx.etcd.security.tls!.ca! } }), 3).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EtcdTlsError);
    expect((err as Error).message).toMatch(/refused the TLS handshake.*--cluster-cert/);
  });

  it('hints at etcd:// when TLS meets a plain-HTTP etcd', async () => {
    const plain = await startTestEtcd();
    onTestFinished(() => plain.stop());
    const err = await client([plain.endpoints[0]!.replace('http:', 'https:')], {}).get('/x').catch((e: unknown) => e);
    // etcd closes the connection: that may also be an outage, so it is "unavailable", with a hint.
    expect(err).toBeInstanceOf(EtcdUnavailableError);
    expect((err as Error).message).toMatch(/does not serve TLS, write etcd:\/\//);
  });
});

describe('the cluster store with etcd auth over TLS (tokens live 2 s unused)', () => {
  const ctx = useTestEtcd({ tls: true, authTokenTtl: 2 });
  let security: EtcdSecurity;
  beforeAll(async () => {
    await enableTestEtcdAuth(ctx.etcd, USER, `root-${randomBytes(8).toString('hex')}`);
    security = { ...ctx.etcd.security, auth: { user: USER.name, password: USER.password } };
  }, 30_000);

  it('renews expired tokens: keep-alives 3 s apart keep the lease while the token of the start is refused', async () => {
    const early = await tokenAnswer(ctx.etcd, security);
    const c = client(ctx.etcd.endpoints, security);
    const s = await session(c, 9); // keep-alives every 3 s: each finds its token expired
    const lease = s.liveLease();
    expect(await tokenAnswer(ctx.etcd, ctx.etcd.security, early.token)).toMatchObject({ header: expect.anything() });
    await new Promise((r) => setTimeout(r, 7000));
    expect(await tokenAnswer(ctx.etcd, ctx.etcd.security, early.token)).toMatchObject({ error: 'etcdserver: invalid auth token', code: 16 });
    expect(s.liveLease()).toBe(lease);
    expect((await c.get(`${HOSTS_PREFIX}${s.hostId}`))?.lease).toBe(lease);
  }, 20_000);

  it('keeps the watch and the lease across an etcd restart (every token is gone)', async () => {
    const c = client(ctx.etcd.endpoints, security);
    const s = await session(c, 6);
    const lease = s.liveLease();
    const events = collect(c, `${KEY_ROOT}auth/`);
    await new Promise((r) => setTimeout(r, 300));
    await c.put(`${KEY_ROOT}auth/k`, 'before');
    expect(await seen(events, `${KEY_ROOT}auth/k`, 'before')).toBe(true);
    await ctx.etcd.kill9();
    await ctx.etcd.start();
    const other = client(ctx.etcd.endpoints, security);
    await other.put(`${KEY_ROOT}auth/k`, 'after');
    expect(await seen(events, `${KEY_ROOT}auth/k`, 'after')).toBe(true);
    await new Promise((r) => setTimeout(r, 3000)); // a keep-alive after the restart
    expect(s.liveLease()).toBe(lease);
    expect((await other.get(`${HOSTS_PREFIX}${s.hostId}`))?.lease).toBe(lease);
  }, 30_000);

  it('refuses a wrong password at start with ERR_ETCD_AUTH, without the password in the message', async () => {
    const wrong = `wrong-${randomBytes(6).toString('hex')}`;
    const err = await session(client(ctx.etcd.endpoints, { ...ctx.etcd.security, auth: { user: USER.name, password: wrong } }), 3).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EtcdAuthError);
    expect((err as EtcdAuthError).code).toBe('ERR_ETCD_AUTH');
    expect((err as Error).message).toMatch(/authentication failed/);
    expect((err as Error).message).not.toContain(wrong);
  });

  describe('tsnet serve', () => {
    let dir: string;
    beforeAll(async () => {
      dir = `/tmp/tstest-etcdsec-${randomBytes(4).toString('hex')}`;
      await mkdir(join(dir, 'plugins'), { recursive: true });
      await writeFile(join(dir, 'password'), `${USER.password}\n`, { mode: 0o600 });
    });
    afterAll(() => rm(dir, { recursive: true, force: true }));

    /** `tsnet serve --only ipam` on the TLS+auth etcd with the password in `env` or a file. */
    function serve(passwordBy: 'env' | 'file', password = USER.password) {
      if (!existsSync(CLI)) throw new Error(`${CLI} does not exist: build first with \`npm run build\``);
      const pki = ctx.etcd.pki!;
      const argv = [process.execPath, CLI, 'serve', '--only', 'ipam', '--plugins-dir', join(dir, 'plugins'), '--state-dir', join(dir, `state-${passwordBy}`)];
      argv.push('--docker-host', 'none', '--engine-lite-state', 'none', '--no-dns', '--log-level', 'debug');
      argv.push('--cluster-store', ctx.etcd.url, '--advertise-addr', '127.0.0.1', '--cluster-ca', pki.ca, '--cluster-cert', pki.clientCert, '--cluster-key', pki.clientKey, '--cluster-user', USER.name);
      if (passwordBy === 'file') argv.push('--cluster-password-file', join(dir, 'password'));
      const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...(passwordBy === 'env' && { TSNET_CLUSTER_PASSWORD: password }) };
      const child = start(argv, { stdout: 'capture', stderr: 'capture', env });
      onTestFinished(() => child.terminate(5000).then(() => undefined));
      return child;
    }

    it.each(['env', 'file'] as const)('joins with the password from the %s and never logs it', async (by) => {
      const child = serve(by);
      expect(await pollUntil(async () => child.output().includes('joined the cluster'), { timeoutMs: 20_000, abort: () => child.exited })).toBe(true);
      await child.terminate(5000);
      expect(child.output()).not.toContain(USER.password);
    }, 30_000);

    it('exits at start on a wrong password, naming the cause, not the password', async () => {
      const wrong = `wrong-${randomBytes(6).toString('hex')}`;
      const child = serve('env', wrong);
      const { code } = await child.done;
      expect(code).not.toBe(0);
      expect(child.output()).toMatch(/authentication failed/);
      expect(child.output()).not.toContain(wrong);
    }, 30_000);
  });
});
