/**
 * How the admin commands find and call a plugin: the plugin's own socket, else the one shared socket
 * (`tsnet serve --socket tsnet.sock`, a managed plugin's), and "tsnet is not running" instead of a raw
 * ENOENT/ECONNREFUSED. A real `serve` of tsipam (LevelDB, socket) answers; no root.
 */
import { link, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { serve, type Serving } from '../cli/serve.js';
import { AdminRefusedError, adminCall, NotRunningError, resolveAdminSocket } from './admin-cli.js';

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

async function serveIpam(socket?: string): Promise<void> {
  serving = await serve({ pluginsDir: dir, stateDir: join(dir, 'state'), only: ['ipam'], logLevel: 'error', ...(socket ? { socket } : {}) });
  await serving.ready;
}

/** Leaves a socket file nobody listens on at `path`, as a killed process does. */
async function staleSocket(path: string): Promise<void> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(`${path}.live`, resolve));
  await link(`${path}.live`, path); // a second name for the socket, which closing does not remove
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

describe('admin commands find their socket', () => {
  it("uses the plugin's own socket", async () => {
    await serveIpam();
    expect(await resolveAdminSocket(dir, 'ipam')).toBe(join(dir, 'tsipam.sock'));
    expect(await adminCall(dir, 'ipam', 'List', {})).toEqual({ Pools: [] });
  });

  it('falls back to the one socket of `serve --socket tsnet.sock`', async () => {
    await serveIpam('tsnet.sock');
    expect(await resolveAdminSocket(dir, 'ipam')).toBe(join(dir, 'tsnet.sock'));
    expect(await adminCall(dir, 'ipam', 'List', {})).toEqual({ Pools: [] });
  });

  it("reports a refusal in the plugin's own words", async () => {
    await serveIpam();
    const err = await adminCall(dir, 'ipam', 'Inspect', { Pool: '10.99.0.0/24' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AdminRefusedError);
    expect((err as Error).message).toMatch(/^pool 10\.99\.0\.0\/24 not found/);
  });

  it('says tsnet is not running when there is no socket, naming where it looked', async () => {
    const err = await adminCall(dir, 'volume', 'List', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotRunningError);
    expect((err as Error).message).toBe(
      `tsnet is not running (no socket at ${dir}/tsvol.sock or ${dir}/tsnet.sock); start it with \`tsnet serve\`, or pass --plugins-dir`,
    );
  });

  it('says tsnet is not running when the socket is stale', async () => {
    await staleSocket(join(dir, 'tsnet.sock'));
    await expect(adminCall(dir, 'network', 'Status', { NetworkID: '' })).rejects.toThrow(
      `tsnet is not running (socket at ${dir}/tsnet.sock refuses connections: stale socket)`,
    );
  });
});
