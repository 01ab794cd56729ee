/**
 * Directory volumes (`-o path=HOST_DIR`) of the managed plugin on a private dockerd 20.10: the plugin
 * reaches the host's `/` at `/host` (config.json's `host` mount, TSNET_HOST_ROOT), so `path=` names a
 * HOST directory. A container reads a file the host put there and writes one the host then reads; a
 * host mount made after the plugin started is seen too (the `rslave` propagation); a symlink swapped
 * in after Create is refused at Mount (ERR_VOLUME_PATH_REFUSED); the plugin's own state is refused by
 * its host path, which the plugin does not know (identity by device and inode); `volume rm` leaves the
 * host directory and its files.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detachDevices, listLoops } from '../common/kernel/loop.js';
import { isUnder } from '../common/kernel/mount-info.js';
import { unmountUnder } from '../common/kernel/mount.js';
import { buildPlugin, dockerOf, enablePlugin, pluginSocketDir } from '../testing/docker/managed-plugin.js';
import type { PrivateDockerd } from '../testing/docker/private-dockerd.js';
import { mustRun, repoRoot, tryRun } from '../testing/system.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('managed plugin directory volume tests skipped: they need root (dockerd, mounts)');

const hex = randomBytes(3).toString('hex');
const work = `/tmp/tstest-${hex}-plugin-dirs`;
const stateDir = join(work, 'state');
/** The host directories the volumes name: a shared bind mount, so mounts made below it later propagate. */
const hostDirs = join(work, 'host');
const PLUGIN = 'tsnet';
const IMAGE = 'tstest-busybox:latest';
const vol = (n: string) => `tstest-mpdir-${n}-${hex}`;
const VOLUMES = ['data', 'later', 'swap', 'state'].map(vol);

let pd: PrivateDockerd | undefined;
let docker: ReturnType<typeof dockerOf>;

/** `docker run --rm -v VOLUME:/data busybox sh -c SCRIPT`: exit code, output and error. */
const runWith = (volume: string, script: string) => docker.cli(['run', '--rm', '-v', `${volume}:/data`, IMAGE, 'sh', '-c', script]);

beforeAll(async () => {
  if (!isRoot) return;
  await mkdir(hostDirs, { recursive: true });
  await mustRun(['mount', '--bind', hostDirs, hostDirs]);
  await mustRun(['mount', '--make-shared', hostDirs]);
  const { startPrivateDockerd } = await import('../testing/docker/private-dockerd.js');
  pd = await startPrivateDockerd(IMAGE);
  docker = dockerOf(pd);
  await buildPlugin({ dir: join(work, 'plugin'), host: pd.host, create: true });
  await enablePlugin(pd, PLUGIN, stateDir);
}, 600_000);

afterAll(async () => {
  if (pd) {
    for (const v of VOLUMES) await docker.cli(['volume', 'rm', '-f', v]);
    await docker.cli(['plugin', 'disable', '-f', PLUGIN]);
    await docker.cli(['plugin', 'rm', '-f', PLUGIN]);
    await pd.stop();
  }
  await unmountUnder(work, { lazy: true });
  await detachDevices((await listLoops()).filter((l) => isUnder(l.backingFile, work)));
  await rm(work, { recursive: true, force: true });
});

describe.skipIf(!isRoot)('directory volumes of the managed plugin name host directories', () => {
  it('shares a host directory with a container both ways, shows its host path, and leaves it after volume rm', async () => {
    const dir = join(hostDirs, 'data');
    await mkdir(dir);
    await writeFile(join(dir, 'from-host'), `host-${hex}\n`);
    await docker.ok(['volume', 'create', '-d', PLUGIN, '-o', `path=${dir}`, vol('data')]);
    expect(await docker.ok(['volume', 'inspect', '-f', '{{.Status.Path}}', vol('data')])).toBe(dir);
    const r = await runWith(vol('data'), `cat /data/from-host && echo container-${hex} > /data/from-container`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(`host-${hex}`);
    expect(await readFile(join(dir, 'from-container'), 'utf8')).toBe(`container-${hex}\n`);
    // The admin CLI shows the host path too.
    const ls = await tryRun(['node', join(repoRoot(), 'dist/cli/tsnet.js'), 'volume', 'ls', '--json', '--plugins-dir', await pluginSocketDir(pd!, PLUGIN)]);
    expect(ls.code, ls.stderr).toBe(0);
    const listed = JSON.parse(ls.stdout) as Array<{ Name: string; Status: { Path?: string } }>;
    expect(listed.find((v) => v.Name === vol('data'))?.Status.Path).toBe(dir);
    await docker.ok(['volume', 'rm', vol('data')]);
    expect((await readdir(dir)).sort()).toEqual(['from-container', 'from-host']);
  });

  it('sees a host mount made after the plugin started (rslave)', async () => {
    const dir = join(hostDirs, 'later');
    await mkdir(dir);
    await mustRun(['mount', '-t', 'tmpfs', '-o', 'size=1m', 'tstest-later', dir]);
    await writeFile(join(dir, 'on-tmpfs'), 'mounted later\n');
    await docker.ok(['volume', 'create', '-d', PLUGIN, '-o', `path=${dir}`, vol('later')]);
    const r = await runWith(vol('later'), 'cat /data/on-tmpfs');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('mounted later');
  });

  it('refuses at mount a symlink swapped in after create (ERR_VOLUME_PATH_REFUSED)', async () => {
    const real = join(hostDirs, 'real');
    const other = join(hostDirs, 'other');
    const link = join(hostDirs, 'link');
    await mkdir(real);
    await mkdir(other);
    await symlink(real, link);
    await docker.ok(['volume', 'create', '-d', PLUGIN, '-o', `path=${link}`, vol('swap')]);
    expect(await docker.ok(['volume', 'inspect', '-f', '{{.Status.Path}}', vol('swap')])).toBe(real);
    await unlink(link);
    await symlink(other, link);
    const r = await runWith(vol('swap'), 'true');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`path "${link}" now resolves to "${other}", not "${real}" as at create`);
    expect(r.stderr).toMatch(/refused at mount/);
    const log = await readFile(join(pd!.dir, 'dockerd.log'), 'utf8');
    // The plugin's request log line, as dockerd quotes the plugin's output in its own log.
    expect(log).toMatch(/code\\?":\\?"ERR_VOLUME_PATH_REFUSED/);
  });

  it("refuses the plugin's state directory by its host path, which the plugin never saw", async () => {
    const r = await docker.cli(['volume', 'create', '-d', PLUGIN, '-o', `path=${join(stateDir, 'volume')}`, vol('state')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/is refused at create: it is the suite's state directory \(\/var\/lib\/tsnet in this process\) or under it/);
  });
});
