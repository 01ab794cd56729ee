/**
 * `-o mode=none` end to end: the foundation slice, on real dockerd and on engine-lite. The network
 * survives a plugin kill -9 (and, on dockerd, a daemon restart), and `network rm` removes it from the
 * plugin's records.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { callPlugin } from '../common/protocol/client.js';
import { makeRuntime, RUNTIME_NAMES, type ScenarioRuntime } from '../testing/docker/engine-lite-runtime.js';
import { startSuite, type SuiteHandle } from '../testing/docker/plugin-harness.js';

let suite: SuiteHandle;

beforeAll(async () => {
  // No --ipam-driver: dockerd uses its built-in IPAM, engine-lite (which has none) tsipam.
  suite = await startSuite({ only: ['network', 'ipam'] });
});

afterAll(async () => {
  await suite?.stop();
});

describe.each(RUNTIME_NAMES)('tsnet mode=none on %s', (runtimeName) => {
  let rt: ScenarioRuntime;
  const created: string[] = [];

  const netName = () => {
    const n = `tstest-none-${randomBytes(3).toString('hex')}`;
    created.push(n);
    return n;
  };

  const linksIn = async (network: string): Promise<string[]> => {
    const out = await rt.ok(['run', '--rm', '--network', network, rt.image, 'ip', '-o', 'link']);
    return out
      .trim()
      .split('\n')
      .map((l) => l.split(':')[1]!.trim());
  };

  beforeAll(async () => {
    rt = await makeRuntime(runtimeName, suite, inject('testImage'));
  });

  afterAll(async () => {
    for (const n of created) await rt?.cli(['network', 'rm', n]);
    await rt?.cleanup();
  });

  it('gives a container only its loopback', async () => {
    const n = netName();
    await rt.ok(['network', 'create', '-d', rt.drivers.network, '-o', 'mode=none', n]);
    expect(await linksIn(n)).toEqual(['lo']);
    const inspect = JSON.parse(await rt.ok(['network', 'inspect', n])) as Array<{ Driver: string; Options: Record<string, string> }>;
    expect(inspect[0]).toMatchObject({ Driver: rt.drivers.network, Options: { mode: 'none' } });
  });

  it('refuses unknown modes and options with the plugin’s message, creating nothing', async () => {
    const n = netName();
    const bad = await rt.cli(['network', 'create', '-d', rt.drivers.network, '-o', 'mode=none', '-o', 'colour=blue', n]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('unknown option "colour" for mode none');
    const worse = await rt.cli(['network', 'create', '-d', rt.drivers.network, '-o', 'mode=carrier-pigeon', n]);
    expect(worse.stderr).toMatch(/unknown mode "carrier-pigeon" \(available: .*none/);
    expect((await rt.cli(['network', 'inspect', n])).code).not.toBe(0);
  });

  it('keeps the network usable after kill -9 of the plugin and a restart', async () => {
    const n = netName();
    await rt.ok(['network', 'create', '-d', rt.drivers.network, '-o', 'mode=none', n]);
    await suite.kill9();
    await suite.restart();
    expect(await linksIn(n)).toEqual(['lo']);
  });

  it('removes the network from its records on network rm', async () => {
    const n = netName();
    const id = (await rt.ok(['network', 'create', '-d', rt.drivers.network, '-o', 'mode=none', n])).trim();
    await rt.ok(['network', 'rm', n]);
    // Deleting again (dockerd's replays after restarts) is answered with success.
    await expect(callPlugin(suite.sockets.network, 'NetworkDriver.DeleteNetwork', { NetworkID: id })).resolves.toEqual({});
    // The record is gone: joining an endpoint of it is refused by the plugin.
    await expect(
      callPlugin(suite.sockets.network, 'NetworkDriver.CreateEndpoint', { NetworkID: id, EndpointID: 'e1', Interface: null }),
    ).rejects.toThrow(`network ${id.slice(0, 12)} not found`);
  });
});

// Docker only: this is about dockerd itself restarting with a tsnet network in its store; engine-lite
// has no daemon to restart (each command reads its records afresh).
describe('tsnet mode=none across a dockerd restart', () => {
  it('keeps the network and its records when the daemon restarts', async () => {
    const { startPrivateDockerd } = await import('../testing/docker/private-dockerd.js');
    const daemon = await startPrivateDockerd('tsnet-test/busybox:latest');
    try {
      const prt = daemon.runtime(suite.driverNames, 'tsnet-test/busybox:latest');
      await prt.ok(['network', 'create', '-d', prt.drivers.network, '-o', 'mode=none', 'tstest-none-restart']);
      await daemon.restart();
      const out = await prt.ok(['run', '--rm', '--network', 'tstest-none-restart', prt.image, 'ip', '-o', 'link']);
      expect(out.trim().split('\n')).toHaveLength(1);
      expect(out).toContain('1: lo:');
      await prt.ok(['network', 'rm', 'tstest-none-restart']);
    } finally {
      await daemon.stop();
    }
  });
});
