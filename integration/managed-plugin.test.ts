/**
 * The suite as a Docker managed plugin on a private dockerd 20.10, end to end: `npm run plugin` builds
 * and creates it, `docker plugin enable` starts it with its state in a test directory; one plugin is
 * the network driver, the IPAM driver and the volume driver. Two `--restart=always` containers on a
 * tsnet bridge network with tsipam addresses, one writing to a size-limited tsvol volume, must ping each
 * other and keep their data across `docker plugin disable -f`/`enable`, a `docker plugin upgrade` from
 * a local registry, a dockerd restart, and a simulated reboot (dockerd and the plugin gone, the plugin's
 * links, firewall, mounts and loop devices gone, then dockerd started).
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detachDevices, listLoops } from '../common/kernel/loop.js';
import { isUnder } from '../common/kernel/mount-info.js';
import { unmountUnder } from '../common/kernel/mount.js';
import { freeSubnets } from '../testing/kernel/subnets.js';
import {
  buildPlugin,
  dockerOf,
  enablePlugin,
  pluginSocketDir,
  startRegistry,
  takeAwayWhatARebootTakes,
  type LocalRegistry,
} from '../testing/docker/managed-plugin.js';
import type { PrivateDockerd } from '../testing/docker/private-dockerd.js';
import { ensurePackages, pollUntil, repoRoot, tryRun } from '../testing/system.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('managed plugin tests skipped: they need root (dockerd, links, mounts)');

const hex = randomBytes(3).toString('hex');
const work = `/tmp/tstest-${hex}-plugin`;
const stateDir = join(work, 'state');
const PLUGIN = 'tsnet';
const IMAGE = 'tstest-busybox:latest';
const net = `tstest-mp-${hex}`;
const vol = `tstest-mpvol-${hex}`;
const c1 = `tstest-mp1-${hex}`;
const c2 = `tstest-mp2-${hex}`;
const payload = `kept-${hex}`;

let pd: PrivateDockerd | undefined;
let registry: LocalRegistry | undefined;
let docker: ReturnType<typeof dockerOf>;
/** A free /24 of the test range, for the whole file (the bridge's own route keeps its traffic local). */
let subnet: string;
const ip = (host: number) => subnet.replace(/\.0\/24$/, `.${host}`);
const ip1 = () => ip(10);
const ip2 = () => ip(11);

/** Whether both containers run, reach each other, and c1 reads the payload from the volume. */
async function allBack(): Promise<boolean> {
  for (const [from, to] of [
    [c1, ip2()],
    [c2, ip1()],
  ] as const) {
    if ((await docker.cli(['exec', from, 'ping', '-c', '1', '-W', '1', to])).code !== 0) return false;
  }
  const read = await docker.cli(['exec', c1, 'cat', '/data/keep']);
  return read.code === 0 && read.stdout.trim() === payload;
}

/** {@link allBack} within `timeoutMs`; on failure, says what is missing. */
async function expectAllBack(timeoutMs: number): Promise<void> {
  if (await pollUntil(allBack, { timeoutMs, intervalMs: 500 })) return;
  const ps = await docker.cli(['ps', '-a', '--format', '{{.Names}} {{.Status}}']);
  const log = await tryRun(['tail', '-n', '40', join(pd!.dir, 'dockerd.log')]);
  throw new Error(`containers not back with connectivity and data:\n${ps.stdout}\n${log.stdout}`);
}

beforeAll(async () => {
  if (!isRoot) return;
  await ensurePackages(['docker-registry']);
  [subnet] = (await freeSubnets(1, { family: 4, prefixLen: 24 })) as [string];
  const { startPrivateDockerd } = await import('../testing/docker/private-dockerd.js');
  pd = await startPrivateDockerd(IMAGE);
  docker = dockerOf(pd);
  registry = await startRegistry(join(work, 'registry'));
});

afterAll(async () => {
  if (pd) {
    for (const c of [c1, c2]) await docker.cli(['rm', '-f', c]);
    await docker.cli(['volume', 'rm', '-f', vol]);
    await docker.cli(['network', 'rm', net]);
    await docker.cli(['plugin', 'disable', '-f', PLUGIN]);
    await docker.cli(['plugin', 'rm', '-f', PLUGIN]);
    await pd.stop();
  }
  await registry?.stop();
  await unmountUnder(work, { lazy: true });
  // The host sees the backing file of a loop the plugin attached relative to the plugin's state bind
  // mount (`/volume/volumes/<name>/disk.ext4`, or `.trash-<name>-…/` once removed), so it is found by
  // the volume's name as well.
  await detachDevices((await listLoops()).filter((l) => isUnder(l.backingFile, work) || l.backingFile.includes(vol)));
  await rm(work, { recursive: true, force: true });
});

describe.skipIf(!isRoot)('tsnet as a Docker managed plugin', () => {
  it('builds with npm run plugin, creates and enables; one plugin answers as network, IPAM and volume driver', async () => {
    const summary = await buildPlugin({ dir: join(work, 'v1'), host: pd!.host, create: true });
    expect(summary).toMatch(/rootfs \d+ MiB, built in \d+ ms/);
    await enablePlugin(pd!, PLUGIN, stateDir);
    const plugin = JSON.parse(await docker.ok(['plugin', 'inspect', PLUGIN])) as Array<{ Enabled: boolean; Config: { Interface: { Types: string[] } } }>;
    expect(plugin[0]!.Enabled).toBe(true);
    expect(plugin[0]!.Config.Interface.Types.sort()).toEqual(['docker.ipamdriver/1.0', 'docker.networkdriver/1.0', 'docker.volumedriver/1.0']);
  });

  it('runs two --restart=always containers on a tsnet bridge network with tsnet addresses, one writing to a size-limited tsnet volume', async () => {
    // The names users type (docs/install.md): dockerd 20.10 resolves network and IPAM drivers of a managed
    // plugin only by the full reference, NAME:TAG; volume drivers also by NAME.
    const refused = await docker.cli(['network', 'create', '-d', PLUGIN, '--subnet', subnet, net]);
    expect(refused.stderr).toMatch(/could not resolve driver tsnet/);
    const full = `${PLUGIN}:latest`;
    await docker.ok(['network', 'create', '-d', full, '--ipam-driver', full, '-o', 'mode=bridge', '--subnet', subnet, net]);
    await docker.ok(['volume', 'create', '-d', PLUGIN, '-o', 'size=16m', vol]);
    expect(await docker.ok(['network', 'inspect', '-f', '{{.Driver}} {{.IPAM.Driver}}', net])).toBe(`${full} ${full}`);
    const always = ['run', '-d', '--restart=always', '--network', net];
    await docker.ok([...always, '--name', c1, '--ip', ip1(), '-v', `${vol}:/data`, IMAGE, 'sh', '-c', 'date >> /data/starts; exec sleep 1000000']);
    await docker.ok([...always, '--name', c2, '--ip', ip2(), IMAGE, 'sleep', '1000000']);
    await docker.ok(['exec', c1, 'sh', '-c', `echo ${payload} > /data/keep`]);
    expect(await allBack()).toBe(true);
    // The size limit holds inside the container: an ext4 image with room for 16 MiB of files, not the host's disk.
    const df = (await docker.ok(['exec', c1, 'df', '-k', '/data'])).split('\n')[1]!.trim().split(/\s+/);
    const availableKiB = Number(df[3]);
    expect(availableKiB).toBeLessThanOrEqual(16 * 1024);
    expect(availableKiB).toBeGreaterThan(15 * 1024);
    // The admin CLI reaches the plugin through the socket directory dockerd made for it.
    const dir = await pluginSocketDir(pd!, PLUGIN);
    const vols = await tryRun(['node', join(repoRoot(), 'dist/cli/tsnet.js'), 'volume', 'ls', '--plugins-dir', dir]);
    expect(vols.code, vols.stderr).toBe(0);
    expect(vols.stdout).toContain(vol);
    const pools = await tryRun(['node', join(repoRoot(), 'dist/cli/tsnet.js'), 'ipam', 'ls', '--plugins-dir', dir]);
    expect(pools.code, pools.stderr).toBe(0);
    expect(pools.stdout).toContain(subnet);
  });

  it('keeps every network, pool, volume and the data across docker plugin disable -f / enable', async () => {
    await docker.ok(['plugin', 'disable', '-f', PLUGIN]);
    await docker.ok(['plugin', 'enable', PLUGIN]);
    await expectAllBack(20_000);
    // The pool is still known: a new container gets an address from it and reaches c1.
    const r = await docker.cli(['run', '--rm', '--network', net, IMAGE, 'ping', '-c', '1', '-W', '2', ip1()]);
    expect(r.code, r.stderr).toBe(0);
    expect(await docker.ok(['volume', 'inspect', '-f', '{{.Driver}}', vol])).toMatch(/^tsnet/);
  });

  it('keeps state across docker plugin upgrade from a local registry', async () => {
    const v2 = `${registry!.address}/tstest-tsnet:v2`;
    // The same sources built at another time: another rootfs digest, so a real upgrade.
    await buildPlugin({ dir: join(work, 'v2'), name: v2, host: pd!.host, create: true, epoch: 1_000_000_000 });
    await docker.ok(['plugin', 'push', v2]);
    await docker.ok(['plugin', 'rm', v2]);
    const before = await docker.ok(['plugin', 'inspect', '-f', '{{.PluginReference}}', PLUGIN]);
    await docker.ok(['plugin', 'disable', '-f', PLUGIN]);
    // The new reference differs from the old one (tsnet:latest): without --skip-remote-check the CLI
    // asks "Plugin images do not match, are you sure?" on stdin.
    await docker.ok(['plugin', 'upgrade', '--grant-all-permissions', '--skip-remote-check', PLUGIN, v2]);
    const after = await docker.ok(['plugin', 'inspect', '-f', '{{.PluginReference}}', PLUGIN]);
    expect(after).not.toBe(before);
    expect(after).toContain(v2);
    // dockerd 20.10 keeps the old settings in `inspect` but builds the runtime spec from the new
    // config, whose state mount has its default source: enable would mount /var/lib/tsnet. Setting
    // state.source again (docs/install.md) puts it into the config too.
    await docker.ok(['plugin', 'set', PLUGIN, `state.source=${stateDir}`]);
    await docker.ok(['plugin', 'enable', PLUGIN]);
    expect(await docker.ok(['plugin', 'inspect', '-f', '{{range .Settings.Mounts}}{{if eq .Name "state"}}{{.Source}}{{end}}{{end}}', PLUGIN])).toBe(stateDir);
    await expectAllBack(20_000);
  }, 300_000);

  it('brings both containers back after a dockerd restart', async () => {
    await pd!.restart();
    await expectAllBack(60_000);
  });

  it('brings both containers back after a simulated reboot', async () => {
    await pd!.restart(() => takeAwayWhatARebootTakes(pd!, stateDir));
    await expectAllBack(60_000);
    const starts = (await docker.ok(['exec', c1, 'cat', '/data/starts'])).split('\n');
    // First start, the restart after dockerd's, the one after the reboot (disable -f keeps it running).
    expect(starts.length).toBeGreaterThanOrEqual(3);
  });
});
