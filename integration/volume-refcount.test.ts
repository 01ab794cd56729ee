/**
 * tsvol's mount counts against what dockerd forgets, on a private dockerd the suite agrees with
 * (`tsnet serve --docker-host unix://…`): a `--restart=always` container across a daemon restart
 * (dockerd sends no Unmount, docker/for-linux#404) keeps its tmpfs mounted while it runs, `volume rm`
 * stays refused (also across kill -9 of the suite), and once the container is gone the leftover mount
 * IDs are released and the tmpfs unmounted; the mount IDs of `docker cp` (moby#35120) do not hold a
 * volume forever.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listMounts } from '../common/kernel/mount.js';
import { cliPath, pluginCall, startSuite, type SuiteHandle } from '../testing/docker/plugin-harness.js';
import type { PrivateDockerd } from '../testing/docker/private-dockerd.js';
import type { Runtime } from '../testing/docker/runtime.js';
import { mustRun, pollUntil } from '../testing/system.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('volume refcount tests skipped: they need root (a private dockerd, mounts)');

const IMAGE = 'tsnet-test/busybox:latest';
/** Agreement judges a mount ID 10 s after first seeing it (docker-sync SETTLE_MS); polls allow for that and a pass. */
const AGREE_MS = 45_000;

let daemon: PrivateDockerd | undefined;
let suite: SuiteHandle | undefined;
let rt: Runtime;
const made = { containers: new Set<string>(), volumes: new Set<string>() };
const name = (what: string) => `tstest-vrc${what}-${randomBytes(3).toString('hex')}`;

beforeAll(async () => {
  if (!isRoot) return;
  const { startPrivateDockerd } = await import('../testing/docker/private-dockerd.js');
  daemon = await startPrivateDockerd(IMAGE);
  suite = await startSuite({ only: ['volume'], sync: { dockerHost: daemon.host } });
  rt = daemon.runtime(suite.driverNames, IMAGE);
});

afterAll(async () => {
  for (const c of made.containers) await rt?.cli(['rm', '-f', c]);
  for (const v of made.volumes) await rt?.cli(['volume', 'rm', '-f', v]);
  await daemon?.stop();
  await suite?.stop();
});

interface Listed {
  Name: string;
  Mountpoint: string;
  Status: { MountCount: number; Mounted?: boolean };
}
const volumeOf = async (v: string) => {
  const r = await mustRun([process.execPath, cliPath(), 'volume', 'ls', '--json', '--plugins-dir', suite!.pluginsDir]);
  return (JSON.parse(r.stdout) as Listed[]).find((x) => x.Name === v)!;
};
const tmpfsAt = async (path: string) => (await listMounts(path)).some((m) => m.mountPoint === path && m.fstype === 'tmpfs');
const running = async (c: string) => (await rt.ok(['inspect', '-f', '{{.State.Running}}', c])).trim() === 'true';
const logTail = () => suite!.logs().split('\n').filter((l) => !l.includes('"msg":"request"')).join('\n').slice(-4000);

describe.skipIf(!isRoot)('tsvol mount counts against what dockerd forgets', () => {
  it('keeps a restart=always container\'s tmpfs across a daemon restart, refuses rm while it runs, and releases it once it is gone', { timeout: 240_000 }, async () => {
    const v = name('tmpfs');
    const c = name('always');
    made.volumes.add(v);
    made.containers.add(c);
    await rt.ok(['volume', 'create', '-d', rt.drivers.volume, '-o', 'type=tmpfs', '-o', 'size=8m', v]);
    await rt.ok(['run', '-d', '--restart=always', '--network', 'none', '--name', c, '-v', `${v}:/data`, IMAGE, 'sh', '-c', 'date >> /data/starts; exec sleep 600']);
    const { Mountpoint } = await volumeOf(v);
    expect(await tmpfsAt(Mountpoint)).toBe(true);

    await daemon!.restart();
    expect(await pollUntil(() => running(c), { timeoutMs: 60_000 })).toBe(true);
    expect(await tmpfsAt(Mountpoint)).toBe(true);
    expect((await volumeOf(v)).Status.MountCount).toBeGreaterThanOrEqual(1);

    // The suite restarts too: its counts are durable and agreement runs again at start.
    await suite!.kill9();
    await suite!.restart();
    const refused = await rt.cli(['volume', 'rm', v]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/is in use/);
    const direct = await pluginCall(suite!.sockets.volume, 'VolumeDriver.Remove', { Name: v });
    expect(direct).toMatchObject({ status: 500, json: { Err: expect.stringMatching(new RegExp(`volume "${v}" is in use \\(\\d+ container mounts?\\)`)) } });

    // Past the settle time and a pass: nothing is released under the running container.
    await new Promise((r) => setTimeout(r, 15_000));
    expect(await tmpfsAt(Mountpoint)).toBe(true);
    expect((await rt.ok(['exec', c, 'cat', '/data/starts'])).trim().split('\n').length).toBeGreaterThanOrEqual(1);
    expect((await volumeOf(v)).Status.MountCount).toBeGreaterThanOrEqual(1);

    await rt.ok(['rm', '-f', c]);
    made.containers.delete(c);
    const released = await pollUntil(async () => (await volumeOf(v)).Status.MountCount === 0 && !(await tmpfsAt(Mountpoint)), { timeoutMs: AGREE_MS, intervalMs: 1000 });
    expect(released, logTail()).toBe(true);
    await rt.ok(['volume', 'rm', v]);
    made.volumes.delete(v);
  });

  it('does not let the mount IDs of docker cp hold a volume forever', { timeout: 120_000 }, async () => {
    const v = name('cp');
    const c = name('cp');
    made.volumes.add(v);
    made.containers.add(c);
    await rt.ok(['volume', 'create', '-d', rt.drivers.volume, '-o', 'type=tmpfs', v]);
    await rt.ok(['create', '--network', 'none', '--name', c, '-v', `${v}:/data`, IMAGE, 'true']);
    await rt.ok(['cp', '/etc/hostname', `${c}:/data/hostname`]);
    const { Mountpoint } = await volumeOf(v);
    const released = await pollUntil(async () => (await volumeOf(v)).Status.MountCount === 0 && !(await tmpfsAt(Mountpoint)), { timeoutMs: AGREE_MS, intervalMs: 1000 });
    expect(released, logTail()).toBe(true);
    await rt.ok(['rm', c]);
    made.containers.delete(c);
    await rt.ok(['volume', 'rm', v]);
    made.volumes.delete(v);
  });
});
