/**
 * @module `tsnet service` and `tsnet wait-ready`: the unit rendered from packaging/systemd with this
 * machine's node and tsnet, checked by `systemd-analyze verify`; install and uninstall into a `--root`
 * temp folder (this machine has no systemd as PID 1); the readiness probe against real unix sockets.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { READY_CALL, SOCKET_NAMES, type PluginKind } from '../common/plugin.js';
import { tryRun } from '../testing/system.js';
import { installService, installedPaths, renderUnit, UNIT_NAME, uninstallService, unitSetting, unitTemplatePath, waitReady, type ServiceOptions } from './service.js';

let dir: string;
let lines: string[];
const opts = (o: Partial<ServiceOptions> = {}): ServiceOptions => ({
  root: join(dir, 'root'),
  dryRun: false,
  pluginsDir: '/run/docker/plugins',
  stateDir: '/var/lib/tsnet',
  out: (l) => lines.push(l),
  ...o,
});
const unitPath = () => join(dir, 'root/etc/systemd/system', UNIT_NAME);

beforeEach(async () => {
  dir = `/tmp/tstest-${randomBytes(4).toString('hex')}`;
  lines = [];
  await mkdir(dir, { recursive: true });
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the unit', () => {
  const render = async (stateDir = '/var/lib/tsnet') =>
    renderUnit(await readFile(unitTemplatePath(), 'utf8'), { ...installedPaths(), pluginsDir: '/run/docker/plugins', stateDir });

  it('starts this node and tsnet before docker.service, after the network, ready only when wait-ready succeeds, restarting always', async () => {
    const unit = await render();
    const { node, tsnet } = installedPaths();
    expect(existsSync(tsnet)).toBe(true);
    expect(unit).not.toMatch(/@[A-Z_]+@/);
    expect(unitSetting(unit, 'ExecStart')).toBe(`${node} ${tsnet} serve --plugins-dir /run/docker/plugins --state-dir /var/lib/tsnet`);
    expect(unitSetting(unit, 'ExecStartPost')).toBe(`${node} ${tsnet} wait-ready --plugins-dir /run/docker/plugins --timeout 60`);
    expect(unitSetting(unit, 'Before')).toBe('docker.service');
    expect(unitSetting(unit, 'After')).toBe('network-online.target');
    expect(unitSetting(unit, 'Wants')).toBe('network-online.target');
    expect(unitSetting(unit, 'WantedBy')?.split(' ')).toContain('docker.service');
    expect(unitSetting(unit, 'Restart')).toBe('always');
    expect(unitSetting(unit, 'StateDirectory')).toBe('tsnet');
    expect(unit).not.toMatch(/sudo/);
  });

  it('passes systemd-analyze verify with no warning', async () => {
    const path = await installService(opts());
    const r = await tryRun(['systemd-analyze', 'verify', path]);
    if (r.code === null) throw new Error(`systemd-analyze did not run (${r.stderr}): install Debian's systemd (scripts/test.sh does)`);
    expect(r.stderr.trim()).toBe('');
    expect(r.code).toBe(0);
  });

  it('drops StateDirectory for a state directory outside /var/lib, and refuses paths systemd would not read verbatim', async () => {
    const unit = await render('/srv/tsnet-state');
    expect(unit).not.toMatch(/StateDirectory/);
    expect(unitSetting(unit, 'ExecStart')).toMatch(/--state-dir \/srv\/tsnet-state$/);
    await expect(render('/srv/my state')).rejects.toThrow(/state directory "\/srv\/my state" must be an absolute path/);
    await expect(render('var/lib/tsnet')).rejects.toThrow(/must be an absolute path/);
    await expect(render('/var/lib/ts%n')).rejects.toThrow(/must be an absolute path/);
  });
});

describe('install and uninstall into --root', () => {
  it('writes the unit, says why systemctl was not run, and is idempotent', async () => {
    const path = await installService(opts());
    expect(path).toBe(unitPath());
    const first = await readFile(path, 'utf8');
    expect(lines.join('\n')).toMatch(/--root .* is not this machine's root, so systemctl was not run/);
    await installService(opts());
    expect(await readFile(path, 'utf8')).toBe(first);
  });

  it('--dry-run prints the unit and writes nothing', async () => {
    await installService(opts({ dryRun: true }));
    expect(existsSync(unitPath())).toBe(false);
    expect(lines[0]).toBe(`would write ${unitPath()}:`);
    expect(lines.join('\n')).toMatch(/^ExecStartPost=.* wait-ready /m);
    await installService(opts());
    lines = [];
    await uninstallService(opts({ dryRun: true }));
    expect(existsSync(unitPath())).toBe(true);
    expect(lines).toEqual([`would remove ${unitPath()}`]);
  });

  it('uninstall removes the unit, keeps the state directory, and is idempotent', async () => {
    const state = join(dir, 'state');
    await mkdir(state);
    await installService(opts());
    await uninstallService(opts());
    expect(existsSync(unitPath())).toBe(false);
    expect(existsSync(state)).toBe(true);
    lines = [];
    await uninstallService(opts());
    expect(lines).toEqual([`${UNIT_NAME} is not installed (no ${unitPath()})`]);
  });
});

describe('wait-ready', () => {
  const servers: Server[] = [];
  /**
   * A socket like serve's: `Plugin.Activate` answers at once; the plugin's ready call answers 200 when
   * `ready` is true, else 503 "still starting" (serve listens before it reconciles).
   */
  const serve = async (kind: PluginKind, ready: boolean) => {
    const server = createServer((req, res) =>
      req.resume().on('end', () => {
        const ok = req.url === '/Plugin.Activate' || (ready && req.url === `/${READY_CALL[kind]}`);
        res.writeHead(ok ? 200 : 503).end(JSON.stringify(ok ? {} : { Err: 'tsnet is still starting' }));
      }),
    );
    await new Promise<void>((resolve) => server.listen(join(dir, SOCKET_NAMES[kind]), resolve));
    servers.push(server);
  };
  afterEach(async () => {
    for (const s of servers.splice(0)) await new Promise((resolve) => s.close(resolve));
  });

  it('reports the plugins that do not serve, or serve but have not reconciled, until all have', async () => {
    await serve('network', true);
    await serve('ipam', false);
    const started = Date.now();
    expect(await waitReady({ pluginsDir: dir, kinds: ['network', 'ipam', 'volume'], timeoutMs: 300 })).toEqual([
      join(dir, 'tsipam.sock'),
      join(dir, 'tsvol.sock'),
    ]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(await waitReady({ pluginsDir: dir, kinds: ['network'], timeoutMs: 300 })).toEqual([]);
  });

  it('returns as soon as the last plugin is ready', async () => {
    await serve('network', true);
    await serve('ipam', true);
    setTimeout(() => void serve('volume', true), 300);
    expect(await waitReady({ pluginsDir: dir, kinds: ['network', 'ipam', 'volume'], timeoutMs: 10_000, intervalMs: 50 })).toEqual([]);
  });
});
