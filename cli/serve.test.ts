/**
 * `serve` listens first and reconciles behind: the real tsipam factory (LevelDB store, real socket),
 * held back by a gate the test opens, shows that Activate answers at once while other calls wait for
 * the reconcile (or are refused after the bound), that a failing factory closes the socket, and that
 * `--socket` serves every plugin on one socket. No root: network and volume are never let start.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PluginFactory, PluginKind } from '../common/plugin.js';
import { callPlugin, postRaw } from '../common/protocol/client.js';
import { PLUGIN_FACTORIES } from './plugins.js';
import { serve, type ServeOptions, type Serving } from './serve.js';

let dir: string;
let serving: Serving | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tstest-'));
});
afterEach(async () => {
  await serving?.stop();
  serving = undefined;
  await rm(dir, { recursive: true, force: true });
});

/** A promise the test settles by hand. */
function gate(): { opened: Promise<void>; open(): void; fail(err: Error): void } {
  let open!: () => void;
  let fail!: (err: Error) => void;
  const opened = new Promise<void>((resolve, reject) => ((open = resolve), (fail = reject)));
  opened.catch(() => undefined); // failing it is the point; whoever awaits it sees the error
  return { opened, open, fail };
}

/** The real factory of `kind`, run only once `g` opens (it fails with g's error). */
function heldBack(kind: PluginKind, g: ReturnType<typeof gate>): () => Promise<PluginFactory> {
  return async () => {
    const real = await PLUGIN_FACTORIES[kind]();
    return async (ctx) => {
      await g.opened;
      return real(ctx);
    };
  };
}

function start(factories: Partial<ServeOptions['factories']>, opts: Partial<ServeOptions> = {}): Promise<Serving> {
  return serve({
    pluginsDir: join(dir, 'plugins'),
    stateDir: join(dir, 'state'),
    only: ['ipam'],
    logLevel: 'error',
    factories: { ...PLUGIN_FACTORIES, ...factories },
    ...opts,
  });
}

/** Whether `p` is still pending after `ms`. */
async function pendingAfter(p: Promise<unknown>, ms: number): Promise<boolean> {
  const marker = Symbol('pending');
  return (await Promise.race([p.then(() => undefined, () => undefined), new Promise((r) => setTimeout(() => r(marker), ms))])) === marker;
}

const requestPool = { AddressSpace: 'LocalDefault', Pool: '10.201.7.0/24', SubPool: '', Options: {}, V6: false };

describe('serve: listen first, reconcile behind', () => {
  it('answers Activate while tsipam reconciles; a call made meanwhile waits and then succeeds', async () => {
    const g = gate();
    serving = await start({ ipam: heldBack('ipam', g) });
    const sock = join(dir, 'plugins', 'tsipam.sock');
    expect(await callPlugin(sock, 'Plugin.Activate')).toEqual({ Implements: ['IpamDriver'] });
    const pool = callPlugin<{ PoolID: string }>(sock, 'IpamDriver.RequestPool', requestPool);
    expect(await pendingAfter(pool, 300)).toBe(true);
    expect(await pendingAfter(serving.ready, 0)).toBe(true);
    g.open();
    expect((await pool).PoolID).toBe('LocalDefault/10.201.7.0/24');
    await serving.ready;
    expect(await callPlugin(sock, 'IpamDriver.RequestAddress', { PoolID: 'LocalDefault/10.201.7.0/24', Address: '', Options: {} })).toEqual({ Address: '10.201.7.1/24', Data: {} });
  });

  it('refuses a call with 503 "still starting" once it waited longer than the bound, and still serves after', async () => {
    const g = gate();
    serving = await start({ ipam: heldBack('ipam', g) }, { readyTimeoutMs: 200 });
    const sock = join(dir, 'plugins', 'tsipam.sock');
    const reply = await postRaw(sock, 'IpamDriver.RequestPool', JSON.stringify(requestPool));
    expect(reply.status).toBe(503);
    expect(JSON.parse(reply.text)).toEqual({ Err: 'tsnet is still starting: tsipam is reconciling its state with the host (waited 0.2 s); try again' });
    g.open();
    await serving.ready;
    expect((await callPlugin<{ PoolID: string }>(sock, 'IpamDriver.RequestPool', requestPool)).PoolID).toBe('LocalDefault/10.201.7.0/24');
  });

  it('when a factory fails: waiting calls are refused with its error, the socket closes and ready rejects', async () => {
    const g = gate();
    serving = await start({ ipam: heldBack('ipam', g) });
    const sock = join(dir, 'plugins', 'tsipam.sock');
    expect(await callPlugin(sock, 'Plugin.Activate')).toEqual({ Implements: ['IpamDriver'] });
    const waiting = postRaw(sock, 'IpamDriver.GetDefaultAddressSpaces', undefined);
    await pendingAfter(waiting, 100);
    const ready = serving.ready.then(() => 'resolved', (err: Error) => err.message);
    g.fail(new Error('default-pools.json: not JSON'));
    const reply = await waiting;
    expect(reply.status).toBe(503);
    expect(JSON.parse(reply.text)).toEqual({ Err: 'tsnet failed to start tsipam: default-pools.json: not JSON' });
    expect(await ready).toBe('default-pools.json: not JSON');
    expect(existsSync(sock)).toBe(false);
    await expect(postRaw(sock, 'Plugin.Activate', undefined)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('--socket serves every chosen plugin on one socket: Activate lists the Docker interfaces only, admin calls work there', async () => {
    const held = gate();
    serving = await start(
      { network: heldBack('network', held), volume: heldBack('volume', held) },
      { only: ['network', 'ipam', 'volume'], socket: 'tsnet.sock' },
    );
    const sock = join(dir, 'plugins', 'tsnet.sock');
    expect(await callPlugin(sock, 'Plugin.Activate')).toEqual({ Implements: ['NetworkDriver', 'IpamDriver', 'VolumeDriver'] });
    expect(['tsipam.sock', 'tsvol.sock'].filter((f) => existsSync(join(dir, 'plugins', f)))).toEqual([]);
    expect(await callPlugin(sock, 'IpamDriver.RequestPool', requestPool)).toMatchObject({ PoolID: 'LocalDefault/10.201.7.0/24' });
    expect(await callPlugin(sock, 'TsnetIpam.List', {})).toMatchObject({ Pools: [{ ID: 'LocalDefault/10.201.7.0/24' }] });
    // The network and volume plugins never start here (they need root): their calls still wait.
    expect(await pendingAfter(callPlugin(sock, 'VolumeDriver.List', {}), 200)).toBe(true);
    const unknown = await postRaw(sock, 'TsnetBogus.List', '{}');
    expect(unknown.status).toBe(404);
    held.fail(new Error('not started in this test'));
    await expect(serving.ready).rejects.toThrow('not started in this test');
  });
});
