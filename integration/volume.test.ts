/**
 * tsvol end to end. The scenarios are written once against the shared `Runtime` (a docker-flag
 * CLI plus our driver names) and run on real dockerd and on engine-lite. Host-side checks (is the
 * tmpfs mounted?) read mountinfo, which both runtimes share.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { listLoops } from '../common/kernel/loop.js';
import { isUnder } from '../common/kernel/mount-info.js';
import { listMounts } from '../common/kernel/mount.js';
import { makeRuntime, RUNTIME_NAMES, type ScenarioRuntime } from '../testing/docker/engine-lite-runtime.js';
import { cliPath, pluginCall, startSuite, type SuiteHandle } from '../testing/docker/plugin-harness.js';
import { mustRun, pollUntil } from '../testing/system.js';

const MiB = 2 ** 20;
const ID = 'f'.repeat(64);

interface Volume {
  Name: string;
  Driver: string;
  Mountpoint: string;
  CreatedAt: string;
  Status: Record<string, unknown>;
}

describe.each(RUNTIME_NAMES)('tsvol on %s', (runtimeName) => {
  let suite: SuiteHandle;
  let rt: ScenarioRuntime;
  const hex = randomBytes(3).toString('hex');
  const volumes = new Set<string>();
  const containers = new Set<string>();

  /** A fresh volume name, removed after the file. */
  const volName = (base: string) => {
    const n = `tstest-vol-${hex}-${base}`;
    volumes.add(n);
    return n;
  };
  const createVolume = async (base: string, opts: Record<string, string> = {}) => {
    const n = volName(base);
    await rt.ok(['volume', 'create', '-d', rt.drivers.volume, ...Object.entries(opts).flatMap(([k, v]) => ['-o', `${k}=${v}`]), n]);
    return n;
  };
  const inspect = async (n: string) => (JSON.parse(await rt.ok(['volume', 'inspect', n])) as Volume[])[0]!;
  /** Runs `script` in a throwaway container with `vols` (`name:/path`) and no network. */
  const run = (vols: string[], script: string) => rt.cli(['run', '--rm', '--network', 'none', ...vols.flatMap((v) => ['-v', v]), rt.image, 'sh', '-c', script]);
  const runOk = async (vols: string[], script: string) => {
    const r = await run(vols, script);
    if (r.code !== 0) throw new Error(`container failed (${r.code}): ${r.stderr}`);
    return r.stdout.trim();
  };
  /** Starts a long-running container with `vols`; returns its name. */
  const start = async (base: string, vols: string[]) => {
    const n = `tstest-vol-${hex}-${base}`;
    containers.add(n);
    await rt.ok(['run', '-d', '--network', 'none', '--name', n, ...vols.flatMap((v) => ['-v', v]), rt.image, 'sleep', '600']);
    return n;
  };
  const exec = async (c: string, script: string) => (await rt.ok(['exec', c, 'sh', '-c', script])).trim();
  const stop = async (c: string) => {
    await rt.ok(['rm', '-f', c]);
    containers.delete(c);
  };
  const mountsAt = async (path: string) => (await listMounts(path)).filter((m) => m.mountPoint === path);
  /** Names of the volumes the plugin lists (asking dockerd would activate every v1 plugin on the host). */
  const listed = async () =>
    ((await pluginCall(suite.sockets.volume, 'VolumeDriver.List', {})).json as { Volumes: Array<{ Name: string }> }).Volumes.map((x) => x.Name);
  const tsnet = (...args: string[]) => mustRun([process.execPath, cliPath(), ...args, '--plugins-dir', suite.pluginsDir]);
  /** A listing of a volume's tree as a container sees it: path, type, mode, owner, size, mtime, checksum. */
  const tree = (v: string) =>
    runOk([`${v}:/data`], 'cd /data && find . -exec stat -c "%n %F %a %u:%g %s %Y" {} + | sort && find . -type f -exec md5sum {} + | sort');

  beforeAll(async () => {
    suite = await startSuite({ only: ['volume'] });
    rt = await makeRuntime(runtimeName, suite, inject('testImage'));
  });

  afterAll(async () => {
    for (const c of containers) await rt?.cli(['rm', '-f', c]);
    for (const v of volumes) await rt?.cli(['volume', 'rm', '-f', v]);
    await rt?.cleanup();
    await suite?.stop();
  });

  it('keeps what one container writes to a local volume for the next', async () => {
    const v = await createVolume('persist');
    await runOk([`${v}:/data`], 'echo "hello from the first" > /data/note');
    expect(await runOk([`${v}:/data`], 'cat /data/note')).toBe('hello from the first');
  });

  it('shares one tmpfs between running containers, and unmounts it after the last one stops', async () => {
    const v = await createVolume('shared', { type: 'tmpfs', size: '16m' });
    const { Mountpoint } = await inspect(v);
    expect(await mountsAt(Mountpoint)).toEqual([]);
    const a = await start('share-a', [`${v}:/data`]);
    const b = await start('share-b', [`${v}:/data`]);
    await exec(a, 'echo from-a > /data/a');
    expect(await exec(b, 'cat /data/a')).toBe('from-a');
    await exec(b, 'echo from-b > /data/b');
    expect(await exec(a, 'cat /data/b')).toBe('from-b');
    expect(await mountsAt(Mountpoint)).toMatchObject([{ fstype: 'tmpfs', mountOptions: expect.arrayContaining(['nosuid', 'nodev']) }]);
    expect((await inspect(v)).Status).toMatchObject({ MountCount: 2, Mounted: true });
    await stop(a);
    expect(await exec(b, 'cat /data/a')).toBe('from-a');
    expect(await mountsAt(Mountpoint)).toHaveLength(1);
    await stop(b);
    expect(await mountsAt(Mountpoint)).toEqual([]);
    expect(await runOk([`${v}:/data`], 'ls -A /data')).toBe('');
  });

  it.each([
    ['local', { size: '8m' }],
    ['tmpfs', { type: 'tmpfs', size: '8m' }],
  ])('refuses writes past size= on a %s volume with "No space left on device"', async (kind, opts) => {
    const v = await createVolume(`full-${kind}`, opts);
    // One container: a tmpfs volume is emptied when its last user stops.
    const r = await run([`${v}:/data`], 'dd if=/dev/zero of=/data/fill bs=1M count=16; rc=$?; stat -c %s /data/fill; exit $rc');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('No space left on device');
    expect(Number(r.stdout.trim())).toBeGreaterThan(7.9 * MiB);
    expect(Number(r.stdout.trim())).toBeLessThanOrEqual(8 * MiB);
  });

  it('shows uid, gid and mode of the volume root inside the container', async () => {
    const local = await createVolume('owned', { uid: '1000', gid: '1001', mode: '750' });
    expect(await runOk([`${local}:/data`], 'stat -c "%u %g %a" /data')).toBe('1000 1001 750');
    const sized = await createVolume('owned-sized', { size: '4m', uid: '1234', mode: '700' });
    expect(await runOk([`${sized}:/data`], 'stat -c "%u %a" /data && ls -A /data')).toBe('1234 700');
    const tmp = await createVolume('owned-tmpfs', { type: 'tmpfs', uid: '4321', mode: '1770', noexec: '' });
    expect(await runOk([`${tmp}:/data`], 'stat -c "%u %a" /data && mount | grep " /data "')).toMatch(/^4321 1770\n.* \/data type tmpfs \(.*nosuid,nodev,noexec/);
  });

  it('reports type, limit, usage, mount count, options and CreatedAt in docker volume inspect', async () => {
    const v = await createVolume('inspected', { size: '16m' });
    await runOk([`${v}:/data`], 'dd if=/dev/urandom of=/data/blob bs=1M count=2 2>/dev/null');
    const vol = await inspect(v);
    expect(vol.Driver).toBe(rt.drivers.volume);
    expect(vol.CreatedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/);
    expect(vol.Status).toMatchObject({ Type: 'local', Backing: 'ext4 image', SizeLimit: '16 MiB', SizeLimitBytes: 16 * MiB, MountCount: 0, Options: { size: '16m' } });
    expect(vol.Status.UsedBytes).toBeGreaterThanOrEqual(2 * MiB);
    expect(vol.Status.AvailableBytes).toBeLessThanOrEqual(14 * MiB);
    expect(vol.Status.AvailableBytes).toBeGreaterThan(13.9 * MiB);
    const ls = (await tsnet('volume', 'ls')).stdout;
    expect(ls.split('\n')[0]).toMatch(/^NAME\s+TYPE\s+LIMIT\s+USED\s+AVAILABLE\s+MOUNTS\s+CREATED$/);
    expect(ls).toMatch(new RegExp(`${v}\\s+local\\s+16 MiB\\s+2(\\.\\d)? MiB`));
  });

  it('exports a volume and imports it into a new one with identical content', async () => {
    const src = await createVolume('export-src');
    await runOk(
      [`${src}:/data`],
      'mkdir -p /data/dir/deep && echo one > /data/dir/one && dd if=/dev/urandom of=/data/dir/deep/rand bs=1k count=300 2>/dev/null' +
        ' && ln -s dir/one /data/link && chown -R 1000:1001 /data/dir && chmod 640 /data/dir/one && chmod 1777 /data',
    );
    const dir = await mkdtemp(join(tmpdir(), 'tstest-vol-export-'));
    try {
      await tsnet('volume', 'export', src, '--output', join(dir, 'backup.tar'));
      const dst = await createVolume('export-dst');
      await tsnet('volume', 'import', dst, '--input', join(dir, 'backup.tar'));
      expect(await tree(dst)).toBe(await tree(src));
      const again = await tsnet('volume', 'import', dst, '--input', join(dir, 'backup.tar')).catch((e: Error) => e);
      expect(String(again)).toContain(`volume "${dst}" is not empty`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses to remove a volume in use, saying by how many', async () => {
    const v = await createVolume('busy', { type: 'tmpfs' });
    const c = await start('busy', [`${v}:/data`]);
    expect((await rt.cli(['volume', 'rm', v])).code).not.toBe(0);
    const direct = await pluginCall(suite.sockets.volume, 'VolumeDriver.Remove', { Name: v });
    expect(direct).toMatchObject({ status: 500, json: { Err: `volume "${v}" is in use (1 container mount); stop the containers using it and try again` } });
    await stop(c);
    await rt.ok(['volume', 'rm', v]);
    volumes.delete(v);
    expect(await listed()).not.toContain(v);
  });

  it('refuses bad input clearly, changes nothing, and keeps serving', async () => {
    const before = await listed();
    const cases: Array<[string[], RegExp]> = [
      [['../escape'], /Name "\.\.\/escape" is not a valid volume name/],
      [['a/b'], /Name "a\/b" is not a valid volume name/],
      [['x'], /Name "x" is not a valid volume name: expected at least two characters/],
      [['-o', 'colour=red', `tstest-vol-${hex}-bad1`], /option "colour" is unknown; valid options for type=local: size, uid, gid, mode, from/],
      [['-o', 'size=12q', `tstest-vol-${hex}-bad2`], /size "12q" is not valid: expected a number of bytes with an optional unit/],
      [['-o', 'type=nfs', `tstest-vol-${hex}-bad3`], /type "nfs" is not supported/],
      [['-o', `from=tstest-vol-${hex}-nope`, `tstest-vol-${hex}-bad4`], /volume "tstest-vol-\w+-nope" not found/],
    ];
    for (const [args, message] of cases) {
      const r = await rt.cli(['volume', 'create', '-d', rt.drivers.volume, ...args]);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr).toMatch(message);
    }
    const mount = await pluginCall(suite.sockets.volume, 'VolumeDriver.Mount', { Name: `tstest-vol-${hex}-nope`, ID });
    expect(mount).toMatchObject({ status: 500, json: { Err: `volume "tstest-vol-${hex}-nope" not found: no tsvol volume has that name` } });
    const v = await createVolume('after-bad');
    const unmount = await pluginCall(suite.sockets.volume, 'VolumeDriver.Unmount', { Name: v, ID });
    expect(unmount).toMatchObject({ status: 500, json: { Err: `volume "${v}": no active mount with ID ffffffffffff (the volume has nothing)` } });
    expect(await listed()).toEqual([...before, v].sort());
    expect(await runOk([`${v}:/data`], 'echo ok')).toBe('ok');
  });

  it('survives kill -9 of the plugin while containers use its volumes', async () => {
    const tmp = await createVolume('durable-tmpfs', { type: 'tmpfs', size: '8m' });
    const loc = await createVolume('durable-local', { size: '8m' });
    const c = await start('durable', [`${tmp}:/t`, `${loc}:/l`]);
    await exec(c, 'echo kept > /t/f && echo kept > /l/f');
    const tmpPath = (await inspect(tmp)).Mountpoint;
    const [before] = await mountsAt(tmpPath);
    await suite.kill9();
    await suite.restart();
    expect((await mountsAt(tmpPath))[0]?.id).toBe(before?.id);
    expect(await exec(c, 'cat /t/f /l/f')).toBe('kept\nkept');
    expect((await inspect(tmp)).Status).toMatchObject({ MountCount: 1, Mounted: true });
    const d = await start('durable-2', [`${tmp}:/t`]);
    expect(await exec(d, 'cat /t/f')).toBe('kept');
    await stop(c);
    expect(await exec(d, 'cat /t/f')).toBe('kept');
    await stop(d);
    expect(await mountsAt(tmpPath)).toEqual([]);
    expect((await inspect(tmp)).Status).toMatchObject({ MountCount: 0, Mounted: false });
  });

  describe('directory volumes', () => {
    let user: string;
    beforeAll(async () => {
      user = await mkdtemp(join(tmpdir(), 'tstest-vol-user-'));
    });
    afterAll(() => rm(user, { recursive: true, force: true }));

    it('show the host files inside the container, and keep them after volume rm', async () => {
      const dir = join(user, 'data');
      await mkdir(dir);
      await writeFile(join(dir, 'from-host'), 'host\n');
      const v = await createVolume('hostdir', { path: dir });
      expect(await runOk([`${v}:/data`], 'cat /data/from-host && echo container > /data/from-container')).toBe('host');
      expect(await readFile(join(dir, 'from-container'), 'utf8')).toBe('container\n');
      expect((await inspect(v)).Status).toMatchObject({ Type: 'dir', Backing: 'host directory', Path: dir, MountCount: 0, Mounted: false });
      await rt.ok(['volume', 'rm', v]);
      volumes.delete(v);
      expect((await readdir(dir)).sort()).toEqual(['from-container', 'from-host']);
    });

    it('make a missing directory with create=true and the given owner and mode', async () => {
      const dir = join(user, 'made', 'here');
      const v = await createVolume('hostdir-made', { path: dir, create: 'true', uid: '1000', mode: '750' });
      expect(await runOk([`${v}:/data`], 'stat -c "%u %a" /data')).toBe('1000 750');
    });

    it('refuse every refused place with a message naming the rule, creating nothing', async () => {
      await symlink('/proc', join(user, 'to-proc'));
      const cases: Array<[Record<string, string>, RegExp]> = [
        [{ path: '/' }, /refused at create: it is the root directory "\/"/],
        [{ path: '/proc/self' }, /refused at create: it is under \/proc/],
        [{ path: '/sys' }, /refused at create: it is \/sys/],
        [{ path: '/dev/shm' }, /refused at create: it is under \/dev/],
        [{ path: '/run/tstest' }, /refused at create: it is under \/run/],
        [{ path: suite.stateDir }, /the suite's state directory/],
        [{ path: 'relative/dir' }, /expected an absolute path .*relative paths are refused/],
        [{ path: join(user, 'to-proc') }, /resolves to "\/proc" \(through a symlink\), which is refused at create/],
        [{ path: join(user, 'missing') }, /does not exist; make it first or add -o create=true/],
      ];
      const before = await listed();
      for (const [opts, message] of cases) {
        const r = await rt.cli(['volume', 'create', '-d', rt.drivers.volume, ...Object.entries(opts).flatMap(([k, x]) => ['-o', `${k}=${x}`]), `tstest-vol-${hex}-refused`]);
        expect(r.code, JSON.stringify(opts)).not.toBe(0);
        expect(r.stderr).toMatch(message);
      }
      expect(await listed()).toEqual(before);
    });

    it('refuse at mount a symlink swapped in after create', async () => {
      const real = join(user, 'real');
      await mkdir(real);
      const link = join(user, 'swap');
      await symlink(real, link);
      const v = await createVolume('hostdir-swap', { path: link });
      expect(await runOk([`${v}:/data`], 'echo ok')).toBe('ok');
      await unlink(link);
      await symlink('/etc', link);
      const r = await run([`${v}:/data`], 'ls /data');
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/now resolves to "\/etc", not ".*real" as at create .* refused at mount/);
      expect((await inspect(v)).Status).toMatchObject({ MountCount: 0, Mounted: false });
    });

    it('refuse a second volume on one directory unless both say shared=true', async () => {
      const dir = join(user, 'one');
      await mkdir(dir);
      await createVolume('hostdir-a', { path: dir });
      const r = await rt.cli(['volume', 'create', '-d', rt.drivers.volume, '-o', `path=${dir}`, '-o', 'shared=true', `tstest-vol-${hex}-hostdir-b`]);
      expect(r.stderr).toMatch(/two volumes on one directory need shared=true/);
    });
  });

  describe('snapshots and clones', () => {
    it('restore in a clone a consistent copy of a snapshot taken while a container writes', async () => {
      const v = await createVolume('snap-src', { size: '64m' });
      const c = await start('snap-writer', [`${v}:/data`]);
      await exec(c, 'cd /data && (i=0; while true; do i=$((i+1)); dd if=/dev/urandom of=f.$i bs=4k count=8 2>/dev/null; md5sum f.$i >> sums; rm -f f.$((i-20)); done) >/dev/null 2>&1 &');
      await new Promise((r) => setTimeout(r, 1500));
      const taken = JSON.parse((await tsnet('volume', 'snapshot', v, 'under-writes', '--json')).stdout) as { Name: string; SizeLimitBytes: number };
      expect(taken).toMatchObject({ Name: 'under-writes', SizeLimitBytes: 64 * MiB });
      const clone = await createVolume('snap-clone', { 'from-snapshot': `${v}@under-writes` });
      const check = await runOk([`${clone}:/data`], 'cd /data && grep -c . sums && for f in f.*; do grep -q " $f$" sums || echo "unlisted $f"; done; tail -n 20 sums | md5sum -c - | grep -v ": OK$" || true');
      const [lines, ...rest] = check.split('\n');
      expect(Number(lines)).toBeGreaterThan(5);
      expect(rest.filter((l) => !/unlisted f\.\d+$/.test(l))).toEqual([]);
      expect(rest.filter((l) => /unlisted/.test(l)).length).toBeLessThanOrEqual(1);
      await stop(c);
      expect((await inspect(clone)).Status).toMatchObject({ SizeLimitBytes: 64 * MiB, Backing: 'ext4 image' });
      const listedSnaps = JSON.parse((await tsnet('volume', 'snapshots', v, '--json')).stdout) as Array<{ Name: string; SizeBytes: number; CreatedAt: string }>;
      expect(listedSnaps).toMatchObject([{ Name: 'under-writes', CreatedAt: expect.stringMatching(/^\d{4}-/) }]);
      expect(listedSnaps[0]!.SizeBytes).toBeGreaterThan(0);
    });

    it('keep the size limit in clones: ENOSPC at the same limit, and the source untouched', async () => {
      const v = await createVolume('snap-limited', { size: '16m' });
      await runOk([`${v}:/data`], 'echo original > /data/keep');
      await tsnet('volume', 'snapshot', v, 'limit');
      const clone = await createVolume('snap-limited-clone', { 'from-snapshot': `${v}@limit` });
      const live = await createVolume('snap-limited-live', { from: v });
      for (const cv of [clone, live]) {
        const r = await run([`${cv}:/data`], 'cat /data/keep; dd if=/dev/zero of=/data/fill bs=1M count=32; rc=$?; stat -c %s /data/fill; exit $rc');
        expect(r.code).not.toBe(0);
        expect(r.stderr).toContain('No space left on device');
        const [keep, size] = r.stdout.trim().split('\n');
        expect(keep).toBe('original');
        expect(Number(size)).toBeGreaterThanOrEqual(15 * MiB);
        expect(Number(size)).toBeLessThanOrEqual(16 * MiB);
      }
      expect(await runOk([`${v}:/data`], 'ls -A /data')).toBe('keep');
      const refused = await rt.cli(['volume', 'create', '-d', rt.drivers.volume, '-o', `from-snapshot=${v}@limit`, '-o', 'size=32m', `tstest-vol-${hex}-snap-bad`]);
      expect(refused.stderr).toMatch(/differs from the snapshot's size limit/);
    });

    it('keeps volumes and snapshots across kill -9 of the plugin', async () => {
      const v = await createVolume('snap-kill', { size: '8m' });
      await runOk([`${v}:/data`], 'echo before > /data/f');
      await tsnet('volume', 'snapshot', v, 'kept');
      await suite.kill9();
      await suite.restart();
      expect((JSON.parse((await tsnet('volume', 'snapshots', v, '--json')).stdout) as Array<{ Name: string }>).map((x) => x.Name)).toEqual(['kept']);
      const clone = await createVolume('snap-kill-clone', { 'from-snapshot': `${v}@kept` });
      expect(await runOk([`${clone}:/data`], 'cat /data/f')).toBe('before');
      expect(await runOk([`${v}:/data`], 'cat /data/f')).toBe('before');
      await tsnet('volume', 'rm-snapshot', `${v}@kept`);
      expect(JSON.parse((await tsnet('volume', 'snapshots', v, '--json')).stdout)).toEqual([]);
    });
  });

  it('leaves no mount, loop device or directory behind once its volumes are removed', async () => {
    for (const c of [...containers]) await stop(c);
    for (const v of [...volumes]) {
      await rt.ok(['volume', 'rm', v]);
      volumes.delete(v);
    }
    const root = join(suite.stateDir, 'volume', 'volumes');
    expect(await listMounts(root)).toEqual([]);
    // The kernel frees an unmounted loop device's autoclear from a work queue, and Remove deletes the
    // trash after it answers: both settle within moments (a real leak stays and fails here).
    const ours = async () => (await listLoops()).filter((l) => isUnder(l.backingFile, suite.dir));
    await pollUntil(async () => (await ours()).length === 0, { timeoutMs: 5_000 });
    expect(await ours()).toEqual([]);
    expect(await listed()).toEqual([]);
  });
});

// Docker only: this is about dockerd itself, which asks every volume's driver `Get` when it starts
// again. engine-lite has no daemon to restart; its records are files every command reads afresh.
describe('tsvol across a dockerd restart', () => {
  it('keeps tmpfs and local volumes known to the daemon: its Get at start finds them', async () => {
    const suite = await startSuite({ only: ['volume'] });
    const { startPrivateDockerd } = await import('../testing/docker/private-dockerd.js');
    const daemon = await startPrivateDockerd('tsnet-test/busybox:latest');
    try {
      const rt = daemon.runtime(suite.driverNames, 'tsnet-test/busybox:latest');
      const names = ['tstest-vol-restart-tmpfs', 'tstest-vol-restart-local'];
      await rt.ok(['volume', 'create', '-d', rt.drivers.volume, '-o', 'type=tmpfs', names[0]!]);
      await rt.ok(['volume', 'create', '-d', rt.drivers.volume, '-o', 'size=4m', names[1]!]);
      await rt.ok(['run', '--rm', '--network', 'none', '-v', `${names[1]}:/data`, rt.image, 'sh', '-c', 'echo kept > /data/f']);
      await daemon.restart();
      for (const n of names) expect(JSON.parse(await rt.ok(['volume', 'inspect', n]))).toMatchObject([{ Name: n, Driver: rt.drivers.volume }]);
      expect(await rt.ok(['run', '--rm', '--network', 'none', '-v', `${names[1]}:/data`, rt.image, 'cat', '/data/f'])).toBe('kept\n');
      for (const n of names) await rt.ok(['volume', 'rm', n]);
    } finally {
      await daemon.stop();
      await suite.stop();
    }
  });
});
