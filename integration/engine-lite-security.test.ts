/**
 * What an attacker inside a container would try, on real dockerd and on engine-lite in the same test:
 * write to /proc/sysrq-trigger, load a kernel module, reach the host's disk, make blocked syscalls
 * (keyctl, add_key, unshare of a user namespace, mount), escalate through a setuid binary under
 * no_new_privs. Each must be refused on engine-lite as it is under docker. The syscalls are made by
 * a tiny static C helper built here with gcc and bound read-only into both containers. Also: `logs`
 * and `logs -f` end to end, and a log that outlives its supervisor (engine-lite is daemonless: a new
 * CLI process after the supervisor was killed is its "restart"). Devices: a host device bound in
 * with -v cannot be opened (device cgroup) unless given with --device, with its permissions.
 */
import { randomBytes } from 'node:crypto';
import { chmod, copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { deviceRulesSupported } from '../common/kernel/cgroup.js';
import { engineLiteRuntime, type EngineLiteRuntime } from '../testing/docker/engine-lite-runtime.js';
import { cliMethods, type Runtime } from '../testing/docker/runtime.js';
import { pollUntil, tryRun } from '../testing/system.js';

const isRoot = process.getuid?.() === 0;
/** A host device no container gets by default, harmless to open (loop-control: no effect until an ioctl). */
const DEVICE = '/dev/loop-control';
if (!isRoot) console.warn('engine-lite security tests skipped: they need root (namespaces, dockerd)');

const HELPER_C = String.raw`
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *t = argv[i]; long r = -1;
    if (!strcmp(t, "euid")) { printf("euid %d\n", (int)geteuid()); continue; }
    else if (!strcmp(t, "keyctl")) r = syscall(SYS_keyctl, 0, -3, 0);
    else if (!strcmp(t, "add_key")) r = syscall(SYS_add_key, "user", "tstest", "x", 1, -3);
    else if (!strcmp(t, "unshare-user")) r = unshare(CLONE_NEWUSER);
    else if (!strcmp(t, "init_module")) r = syscall(SYS_init_module, "", 0, "");
    else if (!strcmp(t, "mount")) r = mount("none", "/mnt", "tmpfs", 0, 0);
    else if (!strcmp(t, "getpid")) r = syscall(SYS_getpid);
    printf("%s %s\n", t, r < 0 ? strerror(errno) : "ok");
  }
  return 0;
}
`;

let engineLite: EngineLiteRuntime | undefined;
let docker: Runtime;
let dir = '';

beforeAll(async () => {
  if (!isRoot) return;
  dir = await mkdtemp('/tmp/tstest-sec-');
  await chmod(dir, 0o755); // --user 65534 must reach the helpers
  await writeFile(join(dir, 'helper.c'), HELPER_C);
  const cc = await tryRun(['gcc', '-static', '-O', '-o', join(dir, 'helper'), join(dir, 'helper.c')]);
  // scripts/test.sh installs gcc and libc6-dev, so a failure here is a failure, not a reason to skip.
  if (cc.code !== 0) throw new Error(`cannot build the static syscall helper (gcc -static): ${cc.stderr.trim() || 'gcc missing'}`);
  {
    await copyFile(join(dir, 'helper'), join(dir, 'suid-helper'));
    await chmod(join(dir, 'suid-helper'), 0o4755);
  }
  docker = { name: 'docker', image: inject('testImage'), drivers: { network: 'tsnet', ipam: 'tsipam', volume: 'tsvol' }, ...cliMethods(['docker']) };
  engineLite = await engineLiteRuntime({ pluginsDir: dir });
}, 120_000);

afterAll(async () => {
  await engineLite?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** `run --rm --network none [flags] IMAGE args…` on one runtime: exit code and both outputs. */
async function attempt(rt: Runtime, flags: string[], args: string[]) {
  const r = await rt.cli(['run', '--rm', '--network', 'none', '-v', `${dir}:/t:ro`, ...flags, rt.image, ...args]);
  return { code: r.code, out: r.stdout.trim(), err: r.stderr.trim() };
}

/** The same attempt on docker and engine-lite. */
async function both(flags: string[], args: string[], dockerFlags = flags) {
  return { docker: await attempt(docker, dockerFlags, args), el: await attempt(engineLite!, flags, args) };
}

describe.skipIf(!isRoot)('an attacker in a container, docker vs engine-lite', () => {
  it('cannot write to /proc/sysrq-trigger', async () => {
    const r = await both([], ['sh', '-c', 'echo h > /proc/sysrq-trigger']);
    expect(r.docker.code).not.toBe(0);
    expect(r.el.code).toBe(r.docker.code);
  });

  it('cannot make blocked syscalls (keyctl, add_key, unshare -U, mount, init_module): EPERM as under docker', async (ctx) => {
    const calls = ['keyctl', 'add_key', 'unshare-user', 'mount', 'init_module', 'getpid'];
    const r = await both([], ['/t/helper', ...calls]);
    expect(r.docker.out.split('\n')).toEqual([...calls.slice(0, -1).map((c) => `${c} Operation not permitted`), 'getpid ok']);
    expect(r.el.out).toBe(r.docker.out);
    // busybox's own unshare, as a user would try it
    const u = await both([], ['unshare', '-U', 'true']);
    expect(u.docker.code).not.toBe(0);
    expect(u.el.code).toBe(u.docker.code);
  });

  it('is let through by seccomp=unconfined (the filter, not only capabilities, refused keyctl)', async (ctx) => {
    const r = await both(['--security-opt', 'seccomp=unconfined'], ['/t/helper', 'keyctl', 'add_key']);
    expect(r.docker.out).toBe('keyctl ok\nadd_key ok');
    expect(r.el.out).toBe(r.docker.out);
  });

  it('applies a seccomp=FILE profile in docker’s format', async (ctx) => {
    const profile = join(dir, 'profile.json');
    await writeFile(profile, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }] }));
    const r = await both(['--security-opt', `seccomp=${profile}`], ['/t/helper', 'getpid', 'keyctl']);
    expect(r.docker.out).toBe('getpid Function not implemented\nkeyctl ok');
    expect(r.el.out).toBe(r.docker.out);
  });

  it('cannot load a kernel module', async () => {
    const r = await both([], ['sh', '-c', 'insmod /t/nothing.ko || modprobe loop']);
    expect(r.docker.code).not.toBe(0);
    expect(r.el.code).not.toBe(0);
  });

  it('cannot reach the host’s disk: a block device it makes cannot be read, nothing can be mounted', async () => {
    const script = 'mknod /tmp/d b 7 0; head -c 512 /tmp/d | wc -c; mkdir -p /mnt/h; mount /tmp/d /mnt/h && echo mounted; mount -t ext4 /dev/vda /mnt/h && echo mounted';
    const r = await both([], ['sh', '-c', script]);
    expect(r.docker.out).toBe('0');
    expect(r.el.out).toBe(r.docker.out);
  });

  it('cannot open a host device it was not given (device cgroup), can one given with --device', async (ctx) => {
    if (!(await deviceRulesSupported())) return ctx.skip('no cgroup v1 devices hierarchy on this host: engine-lite does not restrict devices there');
    if (!existsSync(DEVICE)) return ctx.skip(`${DEVICE} missing on this host (no loop driver)`);
    const probe = ['sh', '-c', 'exec 3</dev/tsdev && echo read; exec 4>/dev/tsdev && echo written'];
    const bound = await both(['-v', `${DEVICE}:/dev/tsdev`], probe);
    expect(bound.docker.code).not.toBe(0);
    expect(bound.docker.err).toContain('Operation not permitted');
    expect([bound.el.code, bound.el.out]).toEqual([bound.docker.code, bound.docker.out]);
    expect(bound.el.err).toContain('Operation not permitted');
    const given = await both(['--device', `${DEVICE}:/dev/tsdev`], probe);
    expect(given.docker.out).toBe('read\nwritten');
    expect(given.el.out).toBe(given.docker.out);
    const writeOnly = await both(['--device', `${DEVICE}:/dev/tsdev:w`], ['sh', '-c', 'exec 4>/dev/tsdev && echo written; exec 3</dev/tsdev && echo read']);
    expect(writeOnly.docker.out).toBe('written');
    expect([writeOnly.el.code, writeOnly.el.out]).toEqual([writeOnly.docker.code, writeOnly.docker.out]);
    // CAP_MKNOD is in docker's set: making the node works, using it does not.
    const made = await both([], ['sh', '-c', 'mknod /dev/tsmade c 10 237 && echo made; exec 3</dev/tsmade && echo read']);
    expect(made.docker.out).toBe('made');
    expect([made.el.code, made.el.out]).toEqual([made.docker.code, made.docker.out]);
  });

  it('cannot escalate through a setuid binary under no_new_privs', async (ctx) => {
    // engine-lite sets no_new_privs by default; docker needs the option.
    const r = await both(['--user', '65534'], ['/t/suid-helper', 'euid'], ['--user', '65534', '--security-opt', 'no-new-privileges']);
    expect(r.docker.out).toBe('euid 65534');
    expect(r.el.out).toBe(r.docker.out);
    // Without it the setuid bit works on both: the check above can fail.
    const open = await both(['--user', '65534', '--security-opt', 'no-new-privileges=false'], ['/t/suid-helper', 'euid'], ['--user', '65534']);
    expect(open.docker.out).toBe('euid 0');
    expect(open.el.out).toBe(open.docker.out);
  });

  it('keeps docker’s capability set, and --read-only makes / read-only but not /dev/shm', async () => {
    const caps = await both([], ['sh', '-c', 'grep -E "CapBnd|CapEff" /proc/self/status']);
    expect(caps.el.out).toBe(caps.docker.out);
    const ro = await both(['--read-only'], ['sh', '-c', 'touch /x; echo $?; touch /dev/shm/x; echo $?']);
    expect(ro.docker.out).toBe('1\n0');
    expect(ro.el.out).toBe(ro.docker.out);
  });

  it('runs as --user UID:GID with no effective capabilities', async () => {
    const r = await both(['--user', '1234:5678'], ['sh', '-c', 'id -u; id -g; grep CapEff /proc/self/status; echo $HOME']);
    expect(r.docker.out.split('\n').slice(0, 2)).toEqual(['1234', '5678']);
    expect(r.el.out).toBe(r.docker.out);
  });
});

describe.skipIf(!isRoot)('engine-lite logs', () => {
  const name = `tstest-logs-${randomBytes(3).toString('hex')}`;

  it('shows stdout and stderr, follows until the container stops, and survives the supervisor’s death', async () => {
    const el = engineLite!;
    const id = (await el.ok(['run', '-d', '--network', 'none', '--name', name, el.image, 'sh', '-c', 'echo one; echo two >&2; sleep 2; echo three; sleep 300'])).trim();
    await pollUntil(async () => (await el.cli(['logs', name])).stdout.includes('one'), { timeoutMs: 10_000 });
    const first = await el.cli(['logs', name]);
    expect(first.stdout).toBe('one\n');
    expect(first.stderr).toBe('two\n');

    const follow = el.cli(['logs', '-f', name]);
    await pollUntil(async () => (await el.cli(['logs', name])).stdout.includes('three'), { timeoutMs: 10_000 });
    // Kill the supervisor this test's `run -d` started (its pid is the record's owner), then restart = new CLI processes.
    const record = JSON.parse(await readFile(join(el.stateDir, 'containers', id, 'config.json'), 'utf8')) as { state: { owner: { pid: number } } };
    process.kill(record.state.owner.pid, 'SIGKILL');
    expect((await el.ok(['logs', '--tail', '1', name]))).toBe('three\n');
    await el.ok(['stop', '-t', '1', name]);
    const followed = await follow;
    expect(followed.code).toBe(0);
    expect(followed.stdout).toBe('one\nthree\n');
    expect(followed.stderr).toBe('two\n');
    const after = await el.cli(['logs', name]);
    expect([after.stdout, after.stderr]).toEqual(['one\nthree\n', 'two\n']);
    await el.ok(['rm', name]);
  });
});
