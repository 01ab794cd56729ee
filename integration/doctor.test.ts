/**
 * @module `tsnet doctor` end to end with the host dockerd: a tsnet bridge network on a tsipam pool, a
 * container publishing a port and using a size-limited tsvol volume. A clean host reports nothing;
 * then, broken by hand (veth deleted, the port's nft map element removed, the volume unmounted, a stray
 * `tsbr-…` bridge added), doctor names each and exits 1; `--fix` repairs them (the published port
 * answers again) and doctor reports clean. A dockerd that answers its ping but fails a read is one
 * finding naming it, and the host is still checked.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { nameFromId } from '../network-driver/modes/shared/names.js';
import { HOST_VETH_PREFIX } from '../network-driver/modes/bridge-core/endpoint-state.js';
import { freePort, readLocal, testPrefixes } from '../network-driver/modes/testing/fixture-world.js';
import { instanceTag } from '../network-driver/modes/shared/instance.js';
import { cliPath, startSuite, type SuiteHandle } from '../testing/docker/plugin-harness.js';
import { dockerRuntime, type Runtime } from '../testing/docker/runtime.js';
import { mustRun, pollUntil, tryRun } from '../testing/system.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('doctor integration test skipped: it needs root (links, nftables, mounts, dockerd)');

const hex = randomBytes(3).toString('hex');
const net = `tstest-doc-${hex}`;
const vol = `tstest-docvol-${hex}`;
const ctr = `tstest-doc-${hex}`;
const stray = `tsbr-doc${hex}`;
let suite: SuiteHandle | undefined;
let rt: Runtime;

const doctor = (...args: string[]) => tryRun(['node', cliPath(), 'doctor', '--plugins-dir', suite!.pluginsDir, ...args]);

beforeAll(async () => {
  if (!isRoot) return;
  suite = await startSuite();
  rt = dockerRuntime(suite, inject('testImage'));
}, 60_000);

afterAll(async () => {
  if (!suite) return;
  await rt.cli(['rm', '-f', ctr]);
  await rt.cli(['network', 'rm', net]);
  await rt.cli(['volume', 'rm', vol]);
  await tryRun(['ip', 'link', 'del', stray]);
  await suite.stop();
});

describe.skipIf(!isRoot)('tsnet doctor', () => {
  it('reports each hand-made break by name, exits 1, and --fix repairs all of it', async () => {
    const p = await testPrefixes();
    await rt.ok(['network', 'create', '-d', rt.drivers.network, '--ipam-driver', rt.drivers.ipam, '--subnet', p.v4(0), net]);
    await rt.ok(['volume', 'create', '-d', rt.drivers.volume, '-o', 'size=16m', vol]);
    const port = await freePort();
    await rt.ok(['run', '-d', '--name', ctr, '--network', net, '-p', `${port}:80`, '-v', `${vol}:/data`, rt.image, 'nc', '-ll', '-p', '80', '-e', 'echo', 'hello']);
    await pollUntil(async () => (await readLocal('127.0.0.1', port).catch(() => '')) === 'hello', { timeoutMs: 10_000 });

    const clean = await doctor();
    expect(clean.stdout, clean.stderr).toContain('no drift');
    expect(clean.code).toBe(0);

    const endpointId = (await rt.ok(['inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").EndpointID}}`, ctr])).trim();
    const veth = nameFromId(HOST_VETH_PREFIX, endpointId);
    const mountpoint = (await rt.ok(['volume', 'inspect', '-f', '{{.Mountpoint}}', vol])).trim();
    const table = `tsnet-${instanceTag(`${suite!.stateDir}/network`)}`;
    await mustRun(['ip', 'link', 'del', veth]);
    await mustRun(['nft', 'delete', 'element', 'inet', table, 'pub4_any', `{ tcp . ${port} }`]);
    await mustRun(['umount', mountpoint]);
    await mustRun(['ip', 'link', 'add', stray, 'type', 'bridge']);

    const broken = await doctor();
    expect(broken.code).toBe(1);
    const lines = broken.stdout.trim().split('\n');
    expect(lines.find((l) => l.includes(`veth ${veth}`))).toMatch(/expected a veth on tsbr-\S+ with MTU \d+, found no such link/);
    expect(lines.find((l) => l.includes(`tcp . ${port} :`))).toMatch(/pub4_any .*expected present, found missing/);
    expect(lines.find((l) => l.includes(`volume ${vol}`))).toMatch(/expected its size-limited image mounted on .*_data, found not mounted/);
    expect(lines.find((l) => l.includes(`bridge ${stray}`))).toMatch(/found present with MAC/);

    const json = JSON.parse((await doctor('--json')).stdout) as { Findings: Array<{ Object: string }> };
    expect(json.Findings.length).toBe(lines.length);

    const fixed = await doctor('--fix');
    expect(fixed.stdout).toContain('fixed:');
    expect(fixed.code).toBe(0);
    expect(await readLocal('127.0.0.1', port)).toBe('hello');
    expect((await tryRun(['ip', 'link', 'show', stray])).code).not.toBe(0);
    expect((await rt.ok(['exec', ctr, 'sh', '-c', 'echo kept > /data/f && cat /data/f'])).trim()).toBe('kept');

    const after = await doctor();
    expect(after.stdout).toContain('no drift');
    expect(after.code).toBe(0);
  }, 120_000);

  it("reports a dockerd that answers its ping but fails a read as a finding naming it, and still checks the host", async () => {
    // A stand-in for a dockerd whose volume or network list dies (a dead volume plugin it waits on):
    // it answers /_ping and drops the connection of every other request.
    const dir = await mkdtemp('/tmp/tstest-');
    const socket = join(dir, 'docker.sock');
    const server = createServer((req, res) => (req.url?.endsWith('/_ping') ? res.end('OK') : req.socket.destroy()));
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    try {
      await mustRun(['ip', 'link', 'add', stray, 'type', 'bridge']);
      const r = await doctor('--docker-host', `unix://${socket}`);
      expect(r.code).toBe(1);
      const lines = r.stdout.trim().split('\n');
      expect(lines.find((l) => l.includes(`dockerd at unix://${socket}`))).toMatch(/Docker's side was not compared/);
      expect(lines.find((l) => l.includes(`bridge ${stray}`))).toMatch(/found present/);
    } finally {
      await tryRun(['ip', 'link', 'del', stray]);
      await new Promise((resolve) => server.close(resolve));
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
