/**
 * `tsnet serve` settings: a flag beats `TSNET_<FLAG>`, which beats the default; an empty variable
 * counts as unset; a bad value from the environment is refused like a bad flag. The program is parsed
 * for real, with the serve action replaced by one that records the options it gets.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeTestPki, type TestPki } from '../testing/cluster/pki.js';
import { buildProgram, envName } from './program.js';
import type { ServeOptions } from './serve.js';

const SETTINGS = ['PLUGINS_DIR', 'STATE_DIR', 'ONLY', 'SOCKET', 'MOUNT_DIR', 'HOST_ROOT', 'LOG_LEVEL', 'CLUSTER_STORE', 'CLUSTER_CA', 'CLUSTER_CERT', 'CLUSTER_KEY', 'CLUSTER_USER', 'CLUSTER_PASSWORD_FILE', 'ADVERTISE_ADDR', 'CLUSTER_TTL', 'CLUSTER_GRACE', 'DOCKER_HOST', 'ENGINE_LITE_STATE', 'METRICS_ADDR', 'DNS_ADDR', 'DNS_UPSTREAM', 'DNS_RATE'].map((s) => `TSNET_${s}`);
/**
 * Variables read besides the options' own: TSNET_HEAL=false is `--no-heal`, TSNET_DNS=false `--no-dns`,
 * TSNET_CLUSTER_PASSWORD the etcd password (no flag: it would show on the command line).
 */
const OTHERS = ['TSNET_HEAL', 'TSNET_DNS', 'TSNET_CLUSTER_PASSWORD'];
const saved = Object.fromEntries([...SETTINGS, ...OTHERS].map((k) => [k, process.env[k]]));

afterEach(() => {
  for (const k of [...SETTINGS, ...OTHERS]) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

/** The options `tsnet serve ARGS` would run with, given `env`. */
async function serveOptions(args: string[], env: Record<string, string> = {}): Promise<ServeOptions> {
  for (const k of [...SETTINGS, ...OTHERS]) delete process.env[k];
  Object.assign(process.env, env);
  let got: ServeOptions | undefined;
  const program = buildProgram(async (o) => void (got = o));
  for (const c of program.commands) c.exitOverride().configureOutput({ writeErr: () => undefined });
  await program.parseAsync(['serve', ...args], { from: 'user' });
  return got!;
}

/** Agreement with the standard dockerd and engine-lite under the state dir, healing on. */
const DEFAULT_SYNC = { dockerHost: 'unix:///var/run/docker.sock', engineLiteState: '/var/lib/tsnet/engine-lite', heal: true };
/** The name service on its default address, forwarding to the host's resolvers. */
const DEFAULT_DNS = { addr: '169.254.53.53' };

describe('tsnet serve settings', () => {
  it('names each variable after its flag', () => {
    expect(envName('--cluster-grace')).toBe('TSNET_CLUSTER_GRACE');
    // --no-heal is a switch: commander would take any value of a variable as "given", so TSNET_HEAL=false is read apart.
    const options = buildProgram().commands.find((c) => c.name() === 'serve')!.options.filter((o) => !o.negate);
    expect(options.map((o) => o.envVar).sort()).toEqual([...SETTINGS].sort());
  });

  it('uses the defaults when neither flag nor variable is given', async () => {
    expect(await serveOptions([])).toEqual({ pluginsDir: '/run/docker/plugins', stateDir: '/var/lib/tsnet', only: ['network', 'ipam', 'volume'], hostRoot: '/', logLevel: 'info', sync: DEFAULT_SYNC, dns: DEFAULT_DNS });
  });

  it('takes every setting from the environment over the default, parsed like the flag', async () => {
    const o = await serveOptions([], {
      TSNET_PLUGINS_DIR: '/run/p',
      TSNET_STATE_DIR: '/srv/state',
      TSNET_ONLY: 'ipam, volume',
      TSNET_SOCKET: 'tsnet.sock',
      TSNET_MOUNT_DIR: '/mnt/tsvol',
      TSNET_HOST_ROOT: '/host',
      TSNET_LOG_LEVEL: 'debug',
      TSNET_CLUSTER_STORE: 'etcd://10.0.0.1:2379,10.0.0.2',
      TSNET_ADVERTISE_ADDR: 'eth1',
      TSNET_CLUSTER_TTL: '5',
      TSNET_CLUSTER_GRACE: '60',
      TSNET_DOCKER_HOST: 'none',
      TSNET_ENGINE_LITE_STATE: '/srv/el',
      TSNET_HEAL: 'false',
      TSNET_METRICS_ADDR: '[::1]:9464',
      TSNET_DNS_ADDR: '169.254.1.53',
      TSNET_DNS_UPSTREAM: '10.9.9.9, [fd00::53]:5353',
      TSNET_DNS_RATE: '50',
    });
    expect(o).toEqual({
      pluginsDir: '/run/p',
      stateDir: '/srv/state',
      only: ['ipam', 'volume'],
      socket: 'tsnet.sock',
      mountDir: '/mnt/tsvol',
      hostRoot: '/host',
      logLevel: 'debug',
      cluster: { endpoints: ['http://10.0.0.1:2379', 'http://10.0.0.2:2379'], advertise: 'eth1', ttlSeconds: 5, graceSeconds: 60 },
      sync: { engineLiteState: '/srv/el', heal: false },
      metricsAddr: { host: '::1', port: 9464 },
      dns: { addr: '169.254.1.53', upstreams: [{ host: '10.9.9.9', port: 53 }, { host: 'fd00::53', port: 5353 }], rate: 50 },
    });
  });

  it('turns the name service off with --no-dns or TSNET_DNS=false, and refuses bad DNS settings', async () => {
    expect((await serveOptions(['--no-dns'])).dns).toBeUndefined();
    expect((await serveOptions([], { TSNET_DNS: 'false' })).dns).toBeUndefined();
    expect((await serveOptions(['--dns-upstream', '127.0.0.1:5353'])).dns).toEqual({ addr: '169.254.53.53', upstreams: [{ host: '127.0.0.1', port: 5353 }] });
    await expect(serveOptions(['--dns-addr', '127.0.0.1'])).rejects.toThrow(/loopback address, which containers cannot reach/);
    await expect(serveOptions(['--dns-addr', 'dns.example'])).rejects.toThrow(/expected an IP address/);
    await expect(serveOptions(['--dns-upstream', '10.0.0.1:99999'])).rejects.toThrow(/"10\.0\.0\.1:99999" is not a resolver address/);
    await expect(serveOptions(['--dns-rate', '0'])).rejects.toThrow(/at least 1/);
    await expect(serveOptions([], { TSNET_DNS_UPSTREAM: 'resolver' })).rejects.toThrow(/from env 'TSNET_DNS_UPSTREAM' is invalid/);
  });

  it('reads --metrics-addr as HOST:PORT and refuses anything else', async () => {
    expect((await serveOptions(['--metrics-addr', '127.0.0.1:0'])).metricsAddr).toEqual({ host: '127.0.0.1', port: 0 });
    expect((await serveOptions(['--metrics-addr', 'localhost:9464'])).metricsAddr).toEqual({ host: 'localhost', port: 9464 });
    for (const bad of ['9464', '127.0.0.1', '::1:9464', '127.0.0.1:70000', '127.0.0.1:http']) {
      await expect(serveOptions(['--metrics-addr', bad])).rejects.toThrow(/expected HOST:PORT such as 127\.0\.0\.1:9464/);
    }
  });

  it('lets a flag beat the environment', async () => {
    const o = await serveOptions(['--log-level', 'warn', '--only', 'network', '--state-dir', '/flag'], { TSNET_LOG_LEVEL: 'debug', TSNET_ONLY: 'ipam', TSNET_STATE_DIR: '/env' });
    expect(o).toMatchObject({ logLevel: 'warn', only: ['network'], stateDir: '/flag' });
  });

  it('treats an empty variable as unset (docker plugin set cannot unset one)', async () => {
    const o = await serveOptions([], { TSNET_LOG_LEVEL: '', TSNET_ONLY: '', TSNET_SOCKET: '', TSNET_CLUSTER_STORE: '', TSNET_CLUSTER_TTL: '' });
    expect(o).toEqual({ pluginsDir: '/run/docker/plugins', stateDir: '/var/lib/tsnet', only: ['network', 'ipam', 'volume'], hostRoot: '/', logLevel: 'info', sync: DEFAULT_SYNC, dns: DEFAULT_DNS });
  });

  it('refuses a bad value from the environment, naming the variable', async () => {
    await expect(serveOptions([], { TSNET_LOG_LEVEL: 'loud' })).rejects.toThrow(/'loud' from env 'TSNET_LOG_LEVEL' is invalid/);
    await expect(serveOptions([], { TSNET_ONLY: 'network,dns' })).rejects.toThrow(/from env 'TSNET_ONLY' is invalid\. unknown plugin "dns"/);
    await expect(serveOptions([], { TSNET_HOST_ROOT: 'host' })).rejects.toThrow(/from env 'TSNET_HOST_ROOT' is invalid\. expected an absolute directory such as \/host/);
    await expect(serveOptions([], { TSNET_SOCKET: '../x.sock' })).rejects.toThrow(/from env 'TSNET_SOCKET' is invalid\. expected a file name/);
    await expect(serveOptions([], { TSNET_CLUSTER_STORE: 'etcd://10.0.0.1' })).rejects.toThrow(/--cluster-store needs --advertise-addr/);
  });
});

describe('tsnet serve cluster store security (TLS files, etcd user and password)', () => {
  const dir = `/tmp/tstest-${randomBytes(4).toString('hex')}`;
  let pki: TestPki;
  const CLUSTER = ['--cluster-store', 'etcds://10.0.0.1', '--advertise-addr', 'eth1'];
  beforeAll(async () => {
    await mkdir(dir, { recursive: true });
    pki = await makeTestPki(dir, ['10.0.0.1']);
    await writeFile(join(dir, 'password'), 'file-secret\n');
    await writeFile(join(dir, 'empty'), '\n');
  }, 30_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('reads the CA, client certificate and key, and the user with the password from TSNET_CLUSTER_PASSWORD (then drops the variable)', async () => {
    const o = await serveOptions([...CLUSTER, '--cluster-user', 'tsnet'], {
      TSNET_CLUSTER_CA: pki.ca,
      TSNET_CLUSTER_CERT: pki.clientCert,
      TSNET_CLUSTER_KEY: pki.clientKey,
      TSNET_CLUSTER_PASSWORD: 'env-secret',
    });
    const read = (f: string) => readFile(f, 'utf8');
    expect(o.cluster).toEqual({
      endpoints: ['https://10.0.0.1:2379'],
      security: { tls: { ca: await read(pki.ca), cert: await read(pki.clientCert), key: await read(pki.clientKey) }, auth: { user: 'tsnet', password: 'env-secret' } },
      advertise: 'eth1',
      ttlSeconds: 10,
      graceSeconds: 3600,
    });
    expect(process.env.TSNET_CLUSTER_PASSWORD).toBeUndefined();
  });

  it('takes the password from --cluster-password-file (one line), and etcds:// alone trusts the system CAs', async () => {
    expect((await serveOptions([...CLUSTER, '--cluster-user', 'tsnet', '--cluster-password-file', join(dir, 'password')])).cluster?.security).toEqual({ tls: {}, auth: { user: 'tsnet', password: 'file-secret' } });
    expect((await serveOptions(['--cluster-store', 'etcd://10.0.0.1', '--advertise-addr', 'eth1', '--cluster-user', 'u'], { TSNET_CLUSTER_PASSWORD: 'p' })).cluster?.security).toEqual({ auth: { user: 'u', password: 'p' } });
    expect((await serveOptions(['--cluster-store', 'etcd://10.0.0.1', '--advertise-addr', 'eth1'])).cluster).not.toHaveProperty('security');
  });

  it('refuses combinations that do not go together, naming the flags', async () => {
    const plain = ['--cluster-store', 'etcd://10.0.0.1', '--advertise-addr', 'eth1'];
    await expect(serveOptions([...plain, '--cluster-cert', pki.clientCert, '--cluster-key', pki.clientKey])).rejects.toThrow(/--cluster-cert, --cluster-key need a TLS cluster store/);
    await expect(serveOptions([...plain, '--cluster-ca', pki.ca])).rejects.toThrow(/--cluster-ca needs a TLS cluster store: write it etcds:\/\//);
    await expect(serveOptions([...CLUSTER, '--cluster-cert', pki.clientCert])).rejects.toThrow(/--cluster-cert needs --cluster-key/);
    await expect(serveOptions([...CLUSTER, '--cluster-key', pki.clientKey])).rejects.toThrow(/--cluster-key needs --cluster-cert/);
    await expect(serveOptions([...CLUSTER, '--cluster-user', 'tsnet'])).rejects.toThrow(/--cluster-user needs a password: set TSNET_CLUSTER_PASSWORD or give --cluster-password-file/);
    await expect(serveOptions(CLUSTER, { TSNET_CLUSTER_PASSWORD: 'x' })).rejects.toThrow(/TSNET_CLUSTER_PASSWORD needs --cluster-user/);
    await expect(serveOptions([...CLUSTER, '--cluster-user', 'u', '--cluster-password-file', join(dir, 'password')], { TSNET_CLUSTER_PASSWORD: 'x' })).rejects.toThrow(/not both/);
    await expect(serveOptions(['--cluster-ca', pki.ca])).rejects.toThrow(/--cluster-ca needs --cluster-store/);
  });

  it('refuses unreadable, non-PEM and mismatched files and an empty password, naming the flag and file', async () => {
    const missing = join(dir, 'nope.crt');
    await expect(serveOptions([...CLUSTER, '--cluster-ca', missing])).rejects.toThrow(`--cluster-ca ${missing}: cannot read it (ENOENT)`);
    await expect(serveOptions([...CLUSTER, '--cluster-ca', join(dir, 'password')])).rejects.toThrow(`--cluster-ca ${join(dir, 'password')}: not a PEM file`);
    await expect(serveOptions([...CLUSTER, '--cluster-cert', pki.clientCert, '--cluster-key', pki.serverKey])).rejects.toThrow(/--cluster-cert .* and --cluster-key .* do not go together/);
    await expect(serveOptions([...CLUSTER, '--cluster-user', 'u', '--cluster-password-file', join(dir, 'empty')])).rejects.toThrow(/--cluster-password-file .*empty\) is empty/);
  });
});
