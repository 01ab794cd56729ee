/**
 * Smoke test of the test infrastructure itself: the plugin harness runs a tiny fake `serve` (so it does
 * not depend on the product), registers it with the real dockerd, and cleans up; pluginCall behaves like
 * dockerd on the wire; the leak check cleans up after a killed plugin; the subnet helpers work on this
 * host. The real CLI is booted too (each plugin alone), when it has been built.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished, vi } from 'vitest';
import { isRoot } from '../testing/kernel/netns.js';
import { freeSubnets, installUnreachable } from '../testing/kernel/subnets.js';
import { sweepLeaks } from '../testing/leak-check.js';
import { mustRun, tryRun } from '../testing/system.js';
import { cliPath, DOCKER_SPEC_DIR, docker, dockerOk, pluginCall, startSuite, type SuiteHandle } from '../testing/docker/plugin-harness.js';

/** A stand-in for `tsnet serve`: logs its argv and every request it receives as JSON lines on stderr. */
const FAKE_SERVER = `
import { createServer } from 'node:http';
import { chmodSync, rmSync } from 'node:fs';
const args = process.argv.slice(2);
const opt = (name) => { const i = args.indexOf(name); return i < 0 ? undefined : args[i + 1]; };
const log = (o) => process.stderr.write(JSON.stringify(o) + '\\n');
if (args[0] !== 'serve') { log({ msg: 'expected serve', args }); process.exit(2); }
const kinds = { network: ['tsnet.sock', 'NetworkDriver'], ipam: ['tsipam.sock', 'IpamDriver'], volume: ['tsvol.sock', 'VolumeDriver'] };
const only = (opt('--only') ?? 'network,ipam,volume').split(',');
const volumes = new Set();
const servers = [];
for (const kind of only) {
  const [file, iface] = kinds[kind];
  const path = opt('--plugins-dir') + '/' + file;
  rmSync(path, { force: true }); // stale after a kill -9
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d) => (body += d)).on('end', () => {
      log({ msg: 'request', kind, url: req.url, headers: req.headers, body });
      const method = req.url.slice(1);
      let name;
      try { name = JSON.parse(body).Name; } catch { name = undefined; }
      let reply = {};
      if (method === 'Plugin.Activate') reply = { Implements: [iface] };
      else if (method === 'NetworkDriver.GetCapabilities') reply = { Scope: 'local' };
      else if (method === 'VolumeDriver.Capabilities') reply = { Capabilities: { Scope: 'local' } };
      else if (method === 'VolumeDriver.Create') volumes.add(name);
      else if (method === 'VolumeDriver.Remove') volumes.delete(name);
      else if (method === 'VolumeDriver.Get') reply = volumes.has(name) ? { Volume: { Name: name, Mountpoint: '' } } : { Err: 'no such volume' };
      else if (method === 'VolumeDriver.List') reply = { Volumes: [...volumes].map((Name) => ({ Name, Mountpoint: '' })) };
      res.writeHead(200, { 'Content-Type': 'application/vnd.docker.plugins.v1.1+json' });
      res.end(JSON.stringify(reply));
    });
  });
  server.listen(path, () => chmodSync(path, 0o600));
  servers.push([server, path]);
}
log({ msg: 'serving', args, pid: process.pid });
const stop = () => { for (const [server, path] of servers) { server.close(); rmSync(path, { force: true }); } process.exit(0); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
`;

interface Logged {
  msg: string;
  url?: string;
  headers?: Record<string, string>;
  body?: string;
  args?: string[];
}

/** The fake's JSON log lines. */
function logged(suite: SuiteHandle): Logged[] {
  return suite
    .logs()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Logged);
}

/**
 * The fake's log lines that satisfy `pick`, once there is at least one: its stderr reaches us
 * asynchronously, possibly after the reply to the request it logs.
 */
function waitForLogged(suite: SuiteHandle, what: string, pick: (l: Logged) => boolean): Promise<Logged[]> {
  return vi.waitFor(
    () => {
      const found = logged(suite).filter(pick);
      if (found.length === 0) throw new Error(`the fake logged no ${what}`);
      return found;
    },
    { timeout: 5_000, interval: 20 },
  );
}

const requestsTo = (suite: SuiteHandle, method: string) =>
  waitForLogged(suite, `${method} request`, (l) => l.msg === 'request' && l.url === `/${method}`);

const servingLine = async (suite: SuiteHandle) => (await waitForLogged(suite, 'start-up line', (l) => l.msg === 'serving'))[0]!;

describe.skipIf(!isRoot)('plugin harness', () => {
  const fakeDir = `/tmp/tstest-fake-${randomBytes(4).toString('hex')}`;
  const fake = [process.execPath, join(fakeDir, 'fake-serve.mjs')];

  beforeAll(async () => {
    await mkdir(fakeDir, { recursive: true });
    await writeFile(fake[1]!, FAKE_SERVER);
  });
  afterAll(() => rm(fakeDir, { recursive: true, force: true }));

  async function start(only?: ('network' | 'ipam' | 'volume')[]): Promise<SuiteHandle> {
    const suite = await startSuite(only ? { command: fake, only } : { command: fake });
    onTestFinished(() => suite.stop());
    return suite;
  }

  it('starts the server with the contract arguments, registers spec files and removes everything on stop', async () => {
    const suite = await start();
    expect(suite.dir).toMatch(/^\/tmp\/tstest-[0-9a-f]{8}$/);
    expect((await servingLine(suite)).args).toEqual(['serve', '--plugins-dir', suite.pluginsDir, '--state-dir', suite.stateDir, '--no-dns']);
    const hex = suite.dir.slice('/tmp/tstest-'.length);
    expect(suite.driverNames).toEqual({ network: `tstest${hex}net`, ipam: `tstest${hex}ipam`, volume: `tstest${hex}vol` });
    for (const kind of ['network', 'ipam', 'volume'] as const) {
      expect((await stat(suite.sockets[kind])).mode & 0o777).toBe(0o600);
      const spec = join(DOCKER_SPEC_DIR, `${suite.driverNames[kind]}.spec`);
      expect((await readFile(spec, 'utf8')).trim()).toBe(`unix://${suite.sockets[kind]}`);
    }
    expect(suite.pid).toBeTypeOf('number');

    await suite.stop();
    expect(suite.pid).toBeUndefined();
    expect(existsSync(suite.dir)).toBe(false);
    for (const kind of ['network', 'ipam', 'volume'] as const) {
      expect(existsSync(join(DOCKER_SPEC_DIR, `${suite.driverNames[kind]}.spec`))).toBe(false);
    }
    await suite.stop(); // idempotent
  });

  it('stop() unmounts what is still mounted below the temp folder instead of deleting through it', async () => {
    const suite = await start(['volume']);
    const mnt = join(suite.stateDir, 'volume-left-mounted');
    await mkdir(mnt);
    await mustRun(['mount', '-t', 'tmpfs', 'tstest-harness', mnt]);
    await writeFile(join(mnt, 'data'), 'x');
    await suite.stop();
    expect(await readFile('/proc/self/mountinfo', 'utf8')).not.toContain(suite.dir);
    expect(existsSync(suite.dir)).toBe(false);
  });

  it('pluginCall sends what dockerd sends: no Content-Type, an empty body when there is no argument', async () => {
    const suite = await start();
    const reply = await pluginCall(suite.sockets.ipam, 'IpamDriver.GetCapabilities');
    expect(reply).toMatchObject({ status: 200, json: {} });
    const [empty] = await requestsTo(suite, 'IpamDriver.GetCapabilities');
    expect(empty?.body).toBe('');
    expect(empty?.headers?.['content-type']).toBeUndefined();
    expect(empty?.headers?.['content-length']).toBe('0');
    expect(empty?.headers?.['accept']).toBe('application/vnd.docker.plugins.v1.2+json');

    await pluginCall(suite.sockets.ipam, 'IpamDriver.RequestPool', { AddressSpace: 'x', Pool: '' });
    const [withBody] = await requestsTo(suite, 'IpamDriver.RequestPool');
    expect(withBody?.body).toBe('{"AddressSpace":"x","Pool":""}\n');
    expect(withBody?.headers?.['content-type']).toBeUndefined();

    await pluginCall(suite.sockets.ipam, 'IpamDriver.RequestAddress', undefined, { rawBody: '{not json' });
    expect((await requestsTo(suite, 'IpamDriver.RequestAddress'))[0]?.body).toBe('{not json');
  });

  it('serves and registers only the plugins asked for', async () => {
    const suite = await start(['volume']);
    expect((await servingLine(suite)).args?.slice(-2)).toEqual(['--only', 'volume']);
    expect(existsSync(suite.sockets.volume)).toBe(true);
    expect(existsSync(suite.sockets.network)).toBe(false);
    expect(existsSync(join(DOCKER_SPEC_DIR, `${suite.driverNames.volume}.spec`))).toBe(true);
    expect(existsSync(join(DOCKER_SPEC_DIR, `${suite.driverNames.network}.spec`))).toBe(false);
  });

  it('restarts after kill -9 with the same sockets', async () => {
    const suite = await start(['network']);
    const before = suite.pid;
    await suite.kill9();
    expect(suite.pid).toBeUndefined();
    await expect(pluginCall(suite.sockets.network, 'Plugin.Activate', undefined, { timeoutMs: 1_000 })).rejects.toThrow();
    await suite.restart();
    expect(suite.pid).toBeTypeOf('number');
    expect(suite.pid).not.toBe(before);
    expect((await pluginCall(suite.sockets.network, 'Plugin.Activate')).json).toEqual({ Implements: ['NetworkDriver'] });
    expect(suite.logs()).toContain('[harness] restart');
  });

  it('fails with the output of a server that exits, and leaves nothing behind', async () => {
    const failing = [process.execPath, '-e', 'console.error("boom"); process.exit(3)'];
    const err = await startSuite({ command: failing }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/exited \(3\)[\s\S]*boom/);
    const dir = /--plugins-dir (\/tmp\/tstest-[0-9a-f]+)\/plugins/.exec((err as Error).message)?.[1];
    expect(dir).toBeDefined();
    expect(existsSync(dir!)).toBe(false);
  });

  it('registers the plugin with the real dockerd under its unique driver name', async () => {
    const suite = await start(['volume']);
    const volume = `tstest-vol-${randomBytes(4).toString('hex')}`;
    let removed = false;
    // Only if still there: looking up a missing volume asks every cached v1 driver, dead ones for ~15 s.
    onTestFinished(async () => void (removed || (await docker(['volume', 'rm', '-f', volume]))));
    await dockerOk(['volume', 'create', '-d', suite.driverNames.volume, volume]);
    const [create] = await requestsTo(suite, 'VolumeDriver.Create');
    expect(JSON.parse(create?.body ?? '')).toMatchObject({ Name: volume });
    expect(create?.headers?.['content-type']).toBeUndefined(); // dockerd's own quirk, which pluginCall copies
    const ls = await dockerOk(['volume', 'ls', '--filter', `driver=${suite.driverNames.volume}`, '--format', '{{.Name}}']);
    expect(ls.stdout.trim()).toBe(volume);
    await dockerOk(['volume', 'rm', volume]);
    removed = true;
    expect(await requestsTo(suite, 'VolumeDriver.Remove')).toHaveLength(1);
  });

  it('the leak check removes what a killed plugin left in dockerd, its spec file and its temp dir', async () => {
    const suite = await start(['network']);
    const hex = suite.dir.slice('/tmp/tstest-'.length);
    const [subnet] = await freeSubnets(1, { family: 4, prefixLen: 24 });
    const network = `tstest-net-${hex}`;
    onTestFinished(async () => void (await docker(['network', 'rm', network])));
    await dockerOk(['network', 'create', '-d', suite.driverNames.network, '--subnet', subnet!, network]);
    expect(await requestsTo(suite, 'NetworkDriver.CreateNetwork')).toHaveLength(1);
    await suite.kill9();

    const lines: string[] = [];
    const result = await sweepLeaks({ match: hex, log: (l) => lines.push(l) });
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^leak docker network ${network} .*: removed$`)),
        `leak plugin spec ${DOCKER_SPEC_DIR}/${suite.driverNames.network}.spec: removed`,
        `leak temp dir ${suite.dir}: removed`,
      ]),
    );
    expect(result).toEqual({ found: lines.length, failed: 0 });
    expect((await docker(['network', 'inspect', network])).code).not.toBe(0);
    expect(existsSync(suite.dir)).toBe(false);
  });

  // Each plugin alone, so that one unfinished plugin does not hide whether the others boot.
  it.skipIf(!existsSync(cliPath())).each(['network', 'ipam', 'volume'] as const)(
    'boots the real CLI (dist/cli/tsnet.js) serving only %s, which answers Plugin.Activate',
    async (kind) => {
      const suite = await startSuite({ only: [kind] });
      onTestFinished(() => suite.stop());
      const reply = await pluginCall(suite.sockets[kind], 'Plugin.Activate');
      expect(reply.status).toBe(200);
      const expected = { network: 'NetworkDriver', ipam: 'IpamDriver', volume: 'VolumeDriver' }[kind];
      expect((reply.json as { Implements: string[] }).Implements).toContain(expected);
    },
  );
});

describe.skipIf(!isRoot)('subnet helpers on this host', () => {
  let prefix = '';

  it('installUnreachable makes a free test subnet unreachable while the test runs', async () => {
    [prefix = ''] = await freeSubnets(1, { family: 4, prefixLen: 28 });
    await installUnreachable(prefix);
    const probe = prefix.replace(/0\/28$/, '1');
    const r = await tryRun(['ip', 'route', 'get', probe]);
    expect(r.stderr + r.stdout).toMatch(/unreachable|No route/);
  });

  it('removed it when that test finished', async () => {
    expect(prefix).not.toBe('');
    expect((await mustRun(['ip', 'route', 'show', 'type', 'unreachable'])).stdout).not.toContain(prefix);
  });
});

describe.skipIf(!isRoot)('global setup', () => {
  it('provides a busybox test image that dockerd can run', async () => {
    const image = inject('testImage');
    expect(image).toBe('tsnet-test/busybox:latest');
    const r = await dockerOk(['run', '--rm', '--network', 'none', image, 'sh', '-c', 'echo ok; id -un']);
    expect(r.stdout).toBe('ok\nroot\n');
  });
});
