/**
 * The same end-to-end scenarios on real dockerd and on engine-lite: `none` networks, isolation (PID 1,
 * hostname, own network stack), cgroup limits (memory kill, pids limit) and bind mounts. A scenario
 * passing on both is the evidence that engine-lite behaves like docker. dockerd's default bridge is
 * not usable on this host, so containers that need no network say `--network none` on both.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { engineLiteRuntime, type EngineLiteRuntime } from '../testing/docker/engine-lite-runtime.js';
import { startSuite, type SuiteHandle } from '../testing/docker/plugin-harness.js';
import { dockerRuntime, type Runtime } from '../testing/docker/runtime.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('engine-lite scenarios skipped: they need root (namespaces, cgroups, dockerd)');

let suite: SuiteHandle | undefined;
let engineLite: EngineLiteRuntime | undefined;
let hostDir: string;

beforeAll(async () => {
  if (!isRoot) return;
  suite = await startSuite();
  engineLite = await engineLiteRuntime(suite);
  hostDir = await mkdtemp('/tmp/tstest-bind-');
});

afterAll(async () => {
  await engineLite?.cleanup();
  await suite?.stop();
  if (hostDir) await rm(hostDir, { recursive: true, force: true });
});

const RUNTIMES = ['docker', 'engine-lite'] as const;

describe.skipIf(!isRoot).each(RUNTIMES)('%s', (kind) => {
  let rt: Runtime;
  const containers: string[] = [];
  const networks: string[] = [];
  const name = (what: string) => `tstest-${what}-${randomBytes(3).toString('hex')}`;
  /** `run --rm --network none IMAGE ARGS…`, resolving with stdout. */
  const runNone = (args: string[]) => rt.ok(['run', '--rm', '--network', 'none', ...args]);

  beforeAll(() => {
    rt = kind === 'docker' ? dockerRuntime(suite!, inject('testImage')) : engineLite!;
  });

  afterAll(async () => {
    for (const c of containers) await rt?.cli(['rm', '-f', c]);
    for (const n of networks) await rt?.cli(['network', 'rm', n]);
  });

  describe('none networks', () => {
    it('gives a container on a tsnet mode=none network only its loopback', async () => {
      const n = name('none');
      networks.push(n);
      await rt.ok(['network', 'create', '-d', rt.drivers.network, '--ipam-driver', rt.drivers.ipam, '-o', 'mode=none', n]);
      const out = await rt.ok(['run', '--rm', '--network', n, rt.image, 'ip', '-o', 'link']);
      expect(out.trim().split('\n').map((l) => l.split(':')[1]?.trim())).toEqual(['lo']);
      const [net] = JSON.parse(await rt.ok(['network', 'inspect', n])) as Array<{ Driver: string; Options: Record<string, string> }>;
      expect(net).toMatchObject({ Driver: rt.drivers.network, Options: { mode: 'none' } });
    });

    it('gives a container on the built-in none network only its loopback, up', async () => {
      const out = await runNone([rt.image, 'ip', '-o', 'link']);
      expect(out.trim().split('\n')).toHaveLength(1);
      expect(out).toMatch(/^1: lo: <LOOPBACK,UP,LOWER_UP>/);
    });
  });

  describe('isolation', () => {
    it('runs the command as PID 1 of its own PID namespace', async () => {
      const out = await runNone([rt.image, 'sh', '-c', 'echo $$; ls /proc | grep -c "^[0-9]"']);
      const [pid, count] = out.trim().split('\n');
      expect(pid).toBe('1');
      expect(Number(count)).toBeLessThanOrEqual(3); // sh, ls, grep: nothing of the host's
    });

    it('sets the hostname and writes /etc/hostname and /etc/hosts like docker', async () => {
      const out = await runNone(['--hostname', 'tstest-host', rt.image, 'sh', '-c', 'hostname; cat /etc/hostname; grep -c localhost /etc/hosts']);
      expect(out.trim().split('\n')).toEqual(['tstest-host', 'tstest-host', '2']);
    });

    it('has a network stack of its own', async () => {
      const inside = (await runNone([rt.image, 'readlink', '/proc/self/ns/net'])).trim();
      expect(inside).toMatch(/^net:\[\d+\]$/);
      expect(inside).not.toBe(await readlink('/proc/self/ns/net'));
      const links = await runNone([rt.image, 'ip', '-o', 'link']);
      expect(links).not.toMatch(/eth0|docker0/);
    });

    it('passes the exit code of the command through', async () => {
      const r = await rt.cli(['run', '--rm', '--network', 'none', rt.image, 'sh', '-c', 'exit 3']);
      expect(r.code).toBe(3);
    });

    it('refuses an unknown command with exit code 127', async () => {
      const r = await rt.cli(['run', '--rm', '--network', 'none', rt.image, 'tstest-no-such-command']);
      expect(r.code).toBe(127);
      expect(r.stderr).toContain('executable file not found in $PATH');
    });
  });

  describe('cgroup limits', () => {
    it('kills a container that exceeds --memory with exit code 137 and records OOMKilled', async () => {
      const c = name('oom');
      containers.push(c);
      const r = await rt.cli(['run', '--name', c, '--network', 'none', '--memory', '16m', rt.image, 'sh', '-c', 'a=$(head -c 64000000 /dev/zero | tr "\\0" x); echo survived']);
      expect(r.code).toBe(137);
      expect(r.stdout).not.toContain('survived');
      expect((await rt.ok(['inspect', '-f', '{{.State.OOMKilled}} {{.State.ExitCode}}', c])).trim()).toBe('true 137');
    });

    it('stops forks beyond --pids-limit', async () => {
      const r = await rt.cli(['run', '--rm', '--network', 'none', '--pids-limit', '5', rt.image, 'sh', '-c', 'for i in 1 2 3 4 5 6 7 8; do sleep 2 & done; wait']);
      expect(r.stderr).toContain("can't fork");
    });

    it('runs within a container without limits untouched', async () => {
      expect((await runNone([rt.image, 'sh', '-c', 'for i in 1 2 3 4 5 6 7 8; do sleep 0.1 & done; wait; echo ok'])).trim()).toBe('ok');
    });
  });

  describe('bind mounts', () => {
    it('mounts a host directory read-write with -v /host:/path', async () => {
      const dir = join(hostDir, kind);
      await rt.ok(['run', '--rm', '--network', 'none', '-v', `${dir}:/data`, rt.image, 'sh', '-c', 'echo from-container > /data/out']);
      expect(await readFile(join(dir, 'out'), 'utf8')).toBe('from-container\n');
    });

    it('mounts a host directory read-only with -v /host:/path:ro', async () => {
      const dir = join(hostDir, `${kind}-ro`);
      await rt.ok(['run', '--rm', '--network', 'none', '-v', `${dir}:/data`, rt.image, 'true']);
      await writeFile(join(dir, 'in'), 'from-host\n');
      const r = await rt.cli(['run', '--rm', '--network', 'none', '-v', `${dir}:/data:ro`, rt.image, 'sh', '-c', 'cat /data/in; touch /data/new']);
      expect(r.stdout).toBe('from-host\n');
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('Read-only file system');
    });

    it('refuses an invalid -v spec with exit code 125', async () => {
      const r = await rt.cli(['run', '--rm', '--network', 'none', '-v', '/a:/b:bogus', rt.image, 'true']);
      expect(r.code).toBe(125);
      expect(r.stderr).toContain('invalid mode: bogus');
    });
  });
});
