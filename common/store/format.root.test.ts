/**
 * Upgrades keep state: a COPY of a state directory written by the suite before store formats existed
 * (testing/fixtures/state-format1, see its README) is served by this build (`dist/cli/tsnet.js serve`, in a
 * throwaway network namespace). Every network, endpoint, pool, address and volume is there, the
 * bridge is made again, and each store is marked with the current format. A store marked with a
 * format newer than the code is refused: serve exits non-zero naming both formats.
 */
import { existsSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run, start } from '../kernel/exec.js';
import { netnsPath } from '../kernel/netns.js';
import { READY_CALL, SOCKET_NAMES, type PluginKind } from '../plugin.js';
import { callPlugin, postRaw } from '../protocol/client.js';
import { isRoot, makeTestNetns } from '../../testing/kernel/netns.js';
import { FIXTURE } from './testing/fixtures/state-format1.js';
import { CURRENT_FORMAT, storeFormat } from './format.js';
import { LevelStore } from './level-store.js';
import { NETWORK_MIGRATIONS } from '../../network-driver/migrations.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(REPO, 'dist/cli/tsnet.js');
const KINDS: PluginKind[] = ['network', 'ipam', 'volume'];

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tstest-'));
  await cp(join(REPO, 'common/store/testing/fixtures/state-format1'), join(dir, 'state'), { recursive: true });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Served {
  sockets: Record<PluginKind, string>;
  output(): string;
  /** Resolves with the exit code (or signal) once the process is gone. */
  exited: Promise<number | string>;
  stop(): Promise<void>;
}

function serveIn(netns: string): Served {
  if (!existsSync(CLI)) throw new Error(`${CLI} does not exist: build first with \`npm run build\``);
  const pluginsDir = join(dir, 'plugins');
  const child = start(['nsenter', `--net=${netnsPath(netns)}`, process.execPath, CLI, 'serve', '--plugins-dir', pluginsDir, '--state-dir', join(dir, 'state'), '--docker-host', 'none'], {
    stdout: 'ignore',
    stderr: 'capture',
  });
  const exited = child.done.then(({ code, signal }) => code ?? signal ?? 'unknown');
  return {
    sockets: Object.fromEntries(KINDS.map((k) => [k, join(pluginsDir, SOCKET_NAMES[k])])) as Record<PluginKind, string>,
    output: () => child.output(),
    exited,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function waitReady(s: Served): Promise<void> {
  let gone = false;
  void s.exited.then(() => (gone = true));
  for (const k of KINDS) {
    while ((await postRaw(s.sockets[k], READY_CALL[k], undefined, 30_000).catch(() => undefined))?.status !== 200) {
      if (gone) throw new Error(`tsnet serve exited:\n${s.output()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

describe.skipIf(!isRoot)('upgrading a state directory written before store formats', () => {
  it('serves every network, endpoint, pool, address and volume, and marks each store with the current format', async () => {
    const netns = await makeTestNetns();
    const s = serveIn(netns);
    try {
      await waitReady(s);
      const { Networks } = await callPlugin<{ Networks: Array<{ ID: string; Mode: string; Subnets: string[]; Endpoints: Array<{ ID: string; Address: string }> }> }>(
        s.sockets.network,
        'TsnetNetwork.Status',
        { NetworkID: '' },
      );
      expect(Networks.map((n) => [n.ID, n.Mode, n.Subnets, n.Endpoints.map((e) => [e.ID, e.Address])])).toEqual([
        [FIXTURE.networkId, 'bridge', [FIXTURE.subnet], [[FIXTURE.endpointId, FIXTURE.addresses[0]]]],
      ]);
      const bridges = JSON.parse((await run(['ip', '-n', netns, '-j', '-4', 'addr', 'show', 'type', 'bridge'], { object: 'bridges', step: 'list' })).stdout) as Array<{ addr_info?: Array<{ local: string; prefixlen: number }> }>;
      expect(bridges.flatMap((b) => (b.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`))).toEqual([FIXTURE.gateway]);

      const pool = await callPlugin<{ Pool: { ID: string; Used: number }; Addresses: Array<{ Address: string; Kind: string; Name: string }> }>(s.sockets.ipam, 'TsnetIpam.Inspect', { Pool: FIXTURE.poolId });
      expect(pool.Pool.ID).toBe(FIXTURE.poolId);
      expect(pool.Addresses.map((a) => [a.Address, a.Kind, a.Name])).toEqual([
        [FIXTURE.gateway.split('/')[0], 'gateway', expect.any(String)],
        [FIXTURE.addresses[0].split('/')[0], 'endpoint', 'web'],
        [FIXTURE.addresses[1].split('/')[0], 'endpoint', 'db'],
      ]);
      // The next address is a new one: the old allocations are still held.
      const next = await callPlugin<{ Address: string }>(s.sockets.ipam, 'IpamDriver.RequestAddress', { PoolID: FIXTURE.poolId, Address: '', Options: {} });
      expect(next.Address).toBe('10.200.77.4/24');

      const { Volumes } = await callPlugin<{ Volumes: Array<{ Name: string; Status: { Type: string } }> }>(s.sockets.volume, 'TsnetVolume.List', { Fresh: false });
      expect(Object.fromEntries(Volumes.map((v) => [v.Name, v.Status.Type]))).toEqual(FIXTURE.volumes);
      const mounted = await callPlugin<{ Mountpoint: string }>(s.sockets.volume, 'VolumeDriver.Mount', { Name: 'fixture-local', ID: 'c'.repeat(64) });
      expect(existsSync(mounted.Mountpoint)).toBe(true);
      await callPlugin(s.sockets.volume, 'VolumeDriver.Unmount', { Name: 'fixture-local', ID: 'c'.repeat(64) });
    } finally {
      await s.stop();
    }
    const migrated = s.output().split('\n').filter((l) => l.includes('"state migrated"')).map((l) => JSON.parse(l) as { plugin: string; from: number; to: number });
    // The network plugin has a step of its own (network-driver/migrations.ts): its records gain their config.
    expect(migrated.map((m) => [m.plugin, m.from, m.to]).sort()).toEqual([
      ['ipam', 1, 2],
      ['network', 1, 2],
      ['network', 2, 3],
      ['volume', 1, 2],
    ]);
    for (const k of KINDS) {
      const store = await LevelStore.open(join(dir, 'state', k, 'db'));
      try {
        expect(await storeFormat(store)).toBe(k === 'network' ? NETWORK_MIGRATIONS.at(-1)!.to : CURRENT_FORMAT);
      } finally {
        await store.close();
      }
    }
  });

  it('refuses a store of a newer format: serve exits non-zero naming both formats and leaves the store as it was', async () => {
    const ipamDb = join(dir, 'state', 'ipam', 'db');
    const store = await LevelStore.open(ipamDb);
    await store.collection('meta').put('format', CURRENT_FORMAT + 1);
    await store.close();
    const s = serveIn(await makeTestNetns());
    const code = await Promise.race([s.exited, new Promise<string>((r) => setTimeout(() => r('still running'), 20_000))]);
    if (code === 'still running') await s.stop();
    expect(code).toBe(1);
    expect(s.output()).toContain(`the ipam state in ${ipamDb} is format ${CURRENT_FORMAT + 1}, newer than this tsnet understands (format ${CURRENT_FORMAT})`);
    expect(existsSync(s.sockets.ipam)).toBe(false);
    const after = await LevelStore.open(ipamDb);
    try {
      expect(await storeFormat(after)).toBe(CURRENT_FORMAT + 1);
    } finally {
      await after.close();
    }
  });
});
