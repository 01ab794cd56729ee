/**
 * `tsnet serve` settings: a flag beats `TSNET_<FLAG>`, which beats the default; an empty variable
 * counts as unset; a bad value from the environment is refused like a bad flag. The program is parsed
 * for real, with the serve action replaced by one that records the options it gets.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { buildProgram, envName } from './program.js';
import type { ServeOptions } from './serve.js';

const SETTINGS = ['PLUGINS_DIR', 'STATE_DIR', 'ONLY', 'SOCKET', 'MOUNT_DIR', 'LOG_LEVEL', 'CLUSTER_STORE', 'ADVERTISE_ADDR', 'CLUSTER_TTL', 'CLUSTER_GRACE'].map((s) => `TSNET_${s}`);
const saved = Object.fromEntries(SETTINGS.map((k) => [k, process.env[k]]));

afterEach(() => {
  for (const k of SETTINGS) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

/** The options `tsnet serve ARGS` would run with, given `env`. */
async function serveOptions(args: string[], env: Record<string, string> = {}): Promise<ServeOptions> {
  for (const k of SETTINGS) delete process.env[k];
  Object.assign(process.env, env);
  let got: ServeOptions | undefined;
  const program = buildProgram(async (o) => void (got = o));
  for (const c of program.commands) c.exitOverride().configureOutput({ writeErr: () => undefined });
  await program.parseAsync(['serve', ...args], { from: 'user' });
  return got!;
}

describe('tsnet serve settings', () => {
  it('names each variable after its flag', () => {
    expect(envName('--cluster-grace')).toBe('TSNET_CLUSTER_GRACE');
    expect(buildProgram().commands.find((c) => c.name() === 'serve')!.options.map((o) => o.envVar).sort()).toEqual([...SETTINGS].sort());
  });

  it('uses the defaults when neither flag nor variable is given', async () => {
    expect(await serveOptions([])).toEqual({ pluginsDir: '/run/docker/plugins', stateDir: '/var/lib/tsnet', only: ['network', 'ipam', 'volume'], logLevel: 'info' });
  });

  it('takes every setting from the environment over the default, parsed like the flag', async () => {
    const o = await serveOptions([], {
      TSNET_PLUGINS_DIR: '/run/p',
      TSNET_STATE_DIR: '/srv/state',
      TSNET_ONLY: 'ipam, volume',
      TSNET_SOCKET: 'tsnet.sock',
      TSNET_MOUNT_DIR: '/mnt/tsvol',
      TSNET_LOG_LEVEL: 'debug',
      TSNET_CLUSTER_STORE: 'etcd://10.0.0.1:2379,10.0.0.2',
      TSNET_ADVERTISE_ADDR: 'eth1',
      TSNET_CLUSTER_TTL: '5',
      TSNET_CLUSTER_GRACE: '60',
    });
    expect(o).toEqual({
      pluginsDir: '/run/p',
      stateDir: '/srv/state',
      only: ['ipam', 'volume'],
      socket: 'tsnet.sock',
      mountDir: '/mnt/tsvol',
      logLevel: 'debug',
      cluster: { endpoints: ['http://10.0.0.1:2379', 'http://10.0.0.2:2379'], advertise: 'eth1', ttlSeconds: 5, graceSeconds: 60 },
    });
  });

  it('lets a flag beat the environment', async () => {
    const o = await serveOptions(['--log-level', 'warn', '--only', 'network', '--state-dir', '/flag'], { TSNET_LOG_LEVEL: 'debug', TSNET_ONLY: 'ipam', TSNET_STATE_DIR: '/env' });
    expect(o).toMatchObject({ logLevel: 'warn', only: ['network'], stateDir: '/flag' });
  });

  it('treats an empty variable as unset (docker plugin set cannot unset one)', async () => {
    const o = await serveOptions([], { TSNET_LOG_LEVEL: '', TSNET_ONLY: '', TSNET_SOCKET: '', TSNET_CLUSTER_STORE: '', TSNET_CLUSTER_TTL: '' });
    expect(o).toEqual({ pluginsDir: '/run/docker/plugins', stateDir: '/var/lib/tsnet', only: ['network', 'ipam', 'volume'], logLevel: 'info' });
  });

  it('refuses a bad value from the environment, naming the variable', async () => {
    await expect(serveOptions([], { TSNET_LOG_LEVEL: 'loud' })).rejects.toThrow(/'loud' from env 'TSNET_LOG_LEVEL' is invalid/);
    await expect(serveOptions([], { TSNET_ONLY: 'network,dns' })).rejects.toThrow(/from env 'TSNET_ONLY' is invalid\. unknown plugin "dns"/);
    await expect(serveOptions([], { TSNET_SOCKET: '../x.sock' })).rejects.toThrow(/from env 'TSNET_SOCKET' is invalid\. expected a file name/);
    await expect(serveOptions([], { TSNET_CLUSTER_STORE: 'etcd://10.0.0.1' })).rejects.toThrow(/--cluster-store needs --advertise-addr/);
  });
});
