/**
 * tsnet `mode=bridge` across restarts, on real dockerd and on engine-lite: after `kill -9` of the plugin
 * and a restart, running containers still talk, new ones attach, and what the crash left of ours is
 * removed; dockerd's replays for endpoints the plugin no longer knows are answered with success.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureBridge, findLink } from '../common/kernel/links.js';
import { callPlugin } from '../common/protocol/client.js';
import { bridgeMacFor } from '../network-driver/modes/bridge/bridge-mode.js';
import { instanceTag } from '../network-driver/modes/shared/instance.js';
import { freePort, readLocal, testPrefixes } from '../network-driver/modes/testing/fixture-world.js';
import { engineLiteRuntime, type EngineLiteRuntime } from '../testing/docker/engine-lite-runtime.js';
import { startSuite, type SuiteHandle } from '../testing/docker/plugin-harness.js';
import { dockerRuntime, type Runtime } from '../testing/docker/runtime.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('bridge recovery tests skipped: they need root (links, dockerd)');

let suite: SuiteHandle | undefined;
let engineLite: EngineLiteRuntime | undefined;

beforeAll(async () => {
  if (!isRoot) return;
  suite = await startSuite({ only: ['network', 'ipam'] });
  engineLite = await engineLiteRuntime(suite);
});

afterAll(async () => {
  await engineLite?.cleanup();
  await suite?.stop();
});

describe.skipIf(!isRoot).each(['docker', 'engine-lite'] as const)('tsnet bridge recovery on %s', (kind) => {
  let rt: Runtime;
  const made: string[][] = [];
  const name = (what: string) => `tstest-brr${what}-${randomBytes(3).toString('hex')}`;

  beforeAll(() => {
    rt = kind === 'docker' ? dockerRuntime(suite!, inject('testImage')) : engineLite!;
  });

  afterAll(async () => {
    for (const argv of made.reverse()) await rt?.cli(argv);
  });

  it('keeps running containers connected and ports published after kill -9 and a restart, attaches new ones, and removes its leftovers', async () => {
    const p = await testPrefixes();
    const net = name('net');
    await rt.ok(['network', 'create', '-d', rt.drivers.network, ...(kind === 'engine-lite' ? ['--ipam-driver', rt.drivers.ipam] : []), '--subnet', p.v4(0), net]);
    made.push(['network', 'rm', net]);
    const run = async (host: number) => {
      const c = name('c');
      made.push(['rm', '-f', c]);
      await rt.ok(['run', '-d', '--name', c, '--network', net, '--ip', p.ip4(0, host), rt.image, 'sleep', '600']);
      return c;
    };
    const ping = async (c: string, host: number) => (await rt.cli(['exec', c, 'ping', '-c', '1', '-W', '2', p.ip4(0, host)])).code === 0;
    const a = await run(10);
    await run(11);
    const port = await freePort();
    const web = name('c');
    made.push(['rm', '-f', web]);
    await rt.ok(['run', '-d', '--name', web, '--network', net, '-p', `127.0.0.1:${port}:80`, rt.image, 'nc', '-ll', '-p', '80', '-e', 'echo', 'hello']);
    expect(await readLocal('127.0.0.1', port)).toBe('hello');

    await suite!.kill9();
    // What a crash between "bridge made" and "record written" leaves: a bridge of ours that no record owns.
    const leftover = `tsbr-${randomBytes(5).toString('hex')}`;
    await ensureBridge(leftover, { mac: bridgeMacFor(instanceTag(`${suite!.stateDir}/network`)) });
    await suite!.restart();

    expect(await ping(a, 11)).toBe(true);
    expect(await readLocal('127.0.0.1', port)).toBe('hello');
    const c = await run(12);
    expect(await ping(c, 10)).toBe(true);
    expect(await findLink(leftover)).toBeUndefined();
  });
});

describe.skipIf(!isRoot)('tsnet bridge across a dockerd restart (a private dockerd)', () => {
  it('keeps the network: restarted containers get new endpoints, and the old veths are gone', async () => {
    const { startPrivateDockerd } = await import('../testing/docker/private-dockerd.js');
    const daemon = await startPrivateDockerd('tsnet-test/busybox:latest');
    const rt = daemon.runtime(suite!.driverNames, 'tsnet-test/busybox:latest');
    const net = `tstest-brd-${randomBytes(3).toString('hex')}`;
    try {
      const p = await testPrefixes();
      await rt.ok(['network', 'create', '-d', rt.drivers.network, '--subnet', p.v4(0), net]);
      await rt.ok(['run', '-d', '--restart', 'always', '--name', 'tstest-brd-a', '--network', net, '--ip', p.ip4(0, 10), rt.image, 'sleep', '600']);
      const veth = async () => {
        const [info] = JSON.parse(await rt.ok(['inspect', 'tstest-brd-a'])) as Array<{ NetworkSettings: { Networks: Record<string, { EndpointID: string }> } }>;
        return `tsv${info!.NetworkSettings.Networks[net]!.EndpointID.slice(0, 12)}`;
      };
      const before = await veth();
      await daemon.restart();
      expect(await findLink(before)).toBeUndefined();
      const after = await veth();
      expect(after).not.toBe(before);
      expect(await findLink(after)).toBeDefined();
      expect((await rt.cli(['run', '--rm', '--network', net, rt.image, 'ping', '-c', '1', '-W', '2', p.ip4(0, 10)])).code).toBe(0);
    } finally {
      // Through the daemon first, so the plugin removes the bridge and veths before the daemon goes.
      await rt.cli(['rm', '-f', 'tstest-brd-a']);
      await rt.cli(['network', 'rm', net]);
      await daemon.stop();
    }
  });
});

describe.skipIf(!isRoot)('replays for endpoints the plugin does not know', () => {
  it('answers Revoke, Leave and DeleteEndpoint with success, as dockerd expects after its own restart', async () => {
    const ref = { NetworkID: randomBytes(32).toString('hex'), EndpointID: randomBytes(32).toString('hex') };
    const socket = suite!.sockets.network;
    await expect(callPlugin(socket, 'NetworkDriver.RevokeExternalConnectivity', ref)).resolves.toEqual({});
    await expect(callPlugin(socket, 'NetworkDriver.Leave', ref)).resolves.toEqual({});
    await expect(callPlugin(socket, 'NetworkDriver.DeleteEndpoint', ref)).resolves.toEqual({});
    await expect(callPlugin(socket, 'NetworkDriver.EndpointOperInfo', ref)).resolves.toEqual({ Value: {} });
  });
});
