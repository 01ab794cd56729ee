/**
 * The init helper in real namespaces: a throwaway busybox root in a temp dir, overlay on top, and
 * checks of what the process sees (PID 1, hostname, loopback, capabilities, mounts), of docker's exit
 * codes, of joining a running one, and that nothing survives the process.
 */
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { cgroupProcsFiles, createCgroup, deleteCgroup, readPids } from './cgroup.js';
import { ContainerInitError, launchContainer, launchInContainer, spawnInitHelper, type NewContainerSpec } from './container-process.js';
import { buildBusyboxRootfs } from '../../testing/system.js';
import { isRoot } from '../../testing/kernel/netns.js';
import { listMounts } from './mount.js';
import { checkUserNamespaces } from './userns.js';

let dir: string;

beforeAll(async () => {
  if (!isRoot) return;
  dir = await mkdtemp(join(tmpdir(), 'tstest-init-'));
  await buildBusyboxRootfs(join(dir, 'lower'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

let n = 0;
async function spec(argv: string[], extra: Partial<NewContainerSpec> = {}): Promise<NewContainerSpec> {
  const c = join(dir, `c${n++}`);
  await mkdir(join(c, 'rootfs'), { recursive: true });
  return {
    network: 'new',
    hostname: 'tstest-box',
    rootfs: { lower: [join(dir, 'lower')], upper: join(c, 'upper'), work: join(c, 'work'), target: join(c, 'rootfs') },
    steps: [{ op: 'mount', source: 'proc', fstype: 'proc', target: '/proc', flags: ['nosuid', 'nodev', 'noexec'] }],
    argv,
    env: ['PATH=/bin'],
    workdir: '/',
    capabilities: [0, 1, 3, 4, 5, 6, 7, 8, 10, 13, 18, 27, 29, 31],
    ...extra,
  };
}

/** Runs `argv` in a new container, capturing its output to a file in the temp dir. */
async function runIn(argv: string[], extra: Partial<NewContainerSpec> = {}): Promise<{ code: number; out: string }> {
  const { open } = await import('node:fs/promises');
  const file = join(dir, `out${n}`);
  const fh = await open(file, 'w');
  try {
    const l = await launchContainer(await spec(argv, extra), { stdio: ['ignore', fh.fd, fh.fd] });
    await l.start();
    return { code: await l.exited, out: await readFile(file, 'utf8') };
  } finally {
    await fh.close();
  }
}

describe.skipIf(!isRoot)('container init helper (root)', () => {
  it('runs the command as PID 1 with its own hostname, loopback, mounts and docker’s capabilities', async () => {
    const r = await runIn(['sh', '-c', 'echo $$; hostname; ip -o link | wc -l; grep CapEff /proc/self/status; grep -c " / overlay " /proc/self/mounts']);
    expect(r.code).toBe(0);
    expect(r.out.split('\n')).toEqual(['1', 'tstest-box', '1', 'CapEff:\t00000000a80425fb', '1', '']);
  });

  it('passes exit codes and signals through (128+N)', async () => {
    expect((await runIn(['sh', '-c', 'exit 7'])).code).toBe(7);
    expect((await runIn(['sh', '-c', 'kill -KILL $$; sleep 1'])).code).toBe(0); // PID 1 ignores its own SIGKILL, like docker
    const l = await launchContainer(await spec(['sleep', '30']), { stdio: ['ignore', 'ignore', 'ignore'] });
    await l.start();
    process.kill(l.pid, 'SIGKILL');
    expect(await l.exited).toBe(137);
  });

  it('reports a missing command as 127 and a non-executable one as 126', async () => {
    const missing = await launchContainer(await spec(['tstest-nope']), { stdio: ['ignore', 'ignore', 'ignore'] });
    await expect(missing.start()).rejects.toMatchObject({ exitCode: 127, message: expect.stringContaining('executable file not found in $PATH') });
    const notExec = await launchContainer(await spec(['/etc/passwd']), { stdio: ['ignore', 'ignore', 'ignore'] });
    await expect(notExec.start()).rejects.toBeInstanceOf(ContainerInitError);
  });

  it('reports a failing step with exit code 125 and the step', async () => {
    const l = await launchContainer(await spec(['true'], { steps: [{ op: 'mount', source: 'x', fstype: 'tstest-nofs', target: '/x' }] }), { stdio: ['ignore', 'ignore', 'ignore'] });
    await expect(l.start()).rejects.toMatchObject({ exitCode: 125, message: expect.stringContaining('mount tstest-nofs on /x') });
  });

  it('keeps mount targets inside the root even through symbolic links', async () => {
    const s = await spec(['sh', '-c', 'cat /etc/escape/hostname']);
    const { symlink } = await import('node:fs/promises');
    await mkdir(join(s.rootfs.upper, 'etc'), { recursive: true });
    await symlink('/tmp', join(s.rootfs.upper, 'etc', 'escape')); // inside the container, /etc/escape → /tmp
    s.steps.push({ op: 'bind', source: '/etc/hostname', target: '/etc/escape/hostname' });
    const l = await launchContainer(s, { stdio: ['ignore', 'ignore', 'ignore'] });
    await l.start();
    expect(await l.exited).toBe(0);
    await expect(readFile('/tmp/hostname')).rejects.toThrow(); // nothing was bound on the host's /tmp
  });

  it('joins a running container’s namespaces for exec', async () => {
    const l = await launchContainer(await spec(['sleep', '30']), { stdio: ['ignore', 'ignore', 'ignore'] });
    await l.start();
    try {
      const { open } = await import('node:fs/promises');
      const file = join(dir, 'exec-out');
      const fh = await open(file, 'w');
      const e = await launchInContainer({ pid: l.pid, argv: ['sh', '-c', 'hostname; cat /proc/1/cmdline | tr "\\0" " "'], env: ['PATH=/bin'], workdir: '/', capabilities: 'all' }, { stdio: ['ignore', fh.fd, fh.fd] });
      await e.start();
      expect(await e.exited).toBe(0);
      await fh.close();
      expect(await readFile(file, 'utf8')).toBe('tstest-box\nsleep 30 ');
    } finally {
      process.kill(l.pid, 'SIGKILL');
      await l.exited;
    }
  });

  it('leaves no mount on the host, also when aborted before start', async () => {
    const l = await launchContainer(await spec(['true']), { stdio: ['ignore', 'ignore', 'ignore'] });
    l.abort();
    expect(await l.exited).toBe(125);
    expect(await listMounts(dir)).toEqual([]);
  });

  it('joins the cgroups sent ahead, so the container is born in them; a disposed helper does nothing', async () => {
    const parent = `tstest-${randomBytes(4).toString('hex')}`;
    await createCgroup('box', {}, { parent });
    try {
      const { open } = await import('node:fs/promises');
      const file = join(dir, `cg${n}`);
      const fh = await open(file, 'w');
      try {
        const helper = spawnInitHelper({ stdio: ['ignore', fh.fd, fh.fd] });
        helper.joinCgroups(await cgroupProcsFiles('box', { parent }));
        const l = await helper.launchContainer(await spec(['cat', '/proc/self/cgroup']));
        expect(await readPids('box', { parent })).toContain(l.pid);
        await l.start();
        expect(await l.exited).toBe(0);
      } finally {
        await fh.close();
      }
      // The managed controllers' lines (v1), or the unified one on a pure v2 host.
      const all = (await readFile(file, 'utf8')).split('\n');
      const v1 = all.filter((x) => /^\d+:[^:]*\b(memory|pids)\b[^:]*:/.test(x));
      const lines = v1.length > 0 ? v1 : all.filter((x) => x.startsWith('0::'));
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) expect(line).toMatch(new RegExp(`/${parent}/box$`));

      const idle = spawnInitHelper({ stdio: ['ignore', 'ignore', 'ignore'] });
      idle.dispose();
      expect(await readPids('box', { parent })).toEqual([]);
    } finally {
      await deleteCgroup('box', { parent });
      await deleteCgroup(parent, { parent: '' }).catch(() => undefined);
    }
  });

  it('runs in a user namespace: root inside is the mapped host id, layers look owned by it, the layer itself is untouched', async () => {
    const missing = await checkUserNamespaces().then(() => undefined, (err: Error) => err.message);
    if (missing) {
      console.warn(`user namespace case skipped: ${missing}`);
      return;
    }
    const userns = { uid: 231072, gid: 231072, count: 65536 };
    const s = await spec(['sh', '-c', 'id -u; cat /proc/self/uid_map; stat -c %u /bin/busybox; touch /made; stat -c %u /made; ip link set lo down'], { userns });
    const { open } = await import('node:fs/promises');
    const file = join(dir, `out${n}`);
    const fh = await open(file, 'w');
    try {
      const l = await launchContainer(s, { stdio: ['ignore', fh.fd, fh.fd] });
      await l.start();
      expect(await l.exited).not.toBe(0); // `ip link set` is refused: the network namespace is not the user namespace's
    } finally {
      await fh.close();
    }
    const out = (await readFile(file, 'utf8')).split('\n').map((l) => l.trim().split(/\s+/).join(' '));
    expect(out.slice(0, 5)).toEqual(['0', `0 ${userns.uid} 65536`, '0', '0', expect.stringMatching(/Operation not permitted/)]);
    expect((await stat(join(s.rootfs.upper, 'made'))).uid).toBe(userns.uid);
    expect((await stat(join(dir, 'lower', 'bin', 'busybox'))).uid).toBe(0);
    // joining it: root inside again
    const l = await launchContainer(await spec(['sleep', '30'], { userns }), { stdio: ['ignore', 'ignore', 'ignore'] });
    await l.start();
    try {
      const jf = join(dir, `join${n}`);
      const jh = await open(jf, 'w');
      try {
        const j = await launchInContainer({ pid: l.pid, argv: ['sh', '-c', 'id -u; cat /proc/self/uid_map'], env: ['PATH=/bin'], workdir: '/', capabilities: 'all', userns: true }, { stdio: ['ignore', jh.fd, jh.fd] });
        await j.start();
        expect(await j.exited).toBe(0);
      } finally {
        await jh.close();
      }
      expect((await readFile(jf, 'utf8')).split(/\s+/).filter(Boolean)).toEqual(['0', '0', String(userns.uid), '65536']);
    } finally {
      process.kill(l.pid, 'SIGKILL');
      await l.exited;
    }
  });
});
