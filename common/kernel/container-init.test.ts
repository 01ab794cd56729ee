import { describe, expect, it } from 'vitest';
import { decodeInitOps, encodeInitOps, initProgram } from './container-init.js';
import { KernelFeatureMissingError } from './errors.js';
import { run } from './exec.js';
import { joinOps, newContainerOps } from './container-process.js';

describe('container init helper', () => {
  it('encodes instructions as netstrings that survive any bytes', () => {
    const ops = [['env', 'A=1\n2', 'B=é:,'], ['exec', 'sh', '-c', ''], ['go']] as const;
    const buf = encodeInitOps(ops.map((o) => [...o] as [string, ...string[]]));
    expect(buf.toString().startsWith(`${buf.length - buf.indexOf(':') - 1}:`)).toBe(true);
    expect(decodeInitOps(buf)).toEqual(ops.map((o) => [...o]));
  });

  it('is a Perl program that compiles, for each architecture it knows', async () => {
    for (const arch of ['x64', 'arm64']) {
      await expect(run(['perl', '-c', '-e', initProgram(arch)], { object: `init helper (${arch})`, step: 'compile' })).resolves.toBeDefined();
    }
    expect(() => initProgram('mips')).toThrow(KernelFeatureMissingError);
  });

  it('orders a new container’s instructions: namespaces, fork, root, pivot, wait, exec', () => {
    const ops = newContainerOps({
      network: { netns: 'tsel-x' },
      hostname: 'h',
      rootfs: { lower: ['/l'], upper: '/u', work: '/w', target: '/t' },
      steps: [{ op: 'bind', source: '/s', target: '/d', readonly: true }],
      argv: ['sh'],
      env: ['A=1'],
      workdir: '/',
      capabilities: [0, 33],
    });
    expect(ops.map((o) => o[0])).toEqual(['unshare', 'setns', 'private', 'fork', 'hostname', 'root', 'overlay', 'bind', 'pivot', 'go', 'chdir', 'caps', 'env', 'exec']);
    expect(ops).toContainEqual(['overlay', '/u', '/w', 'lowerdir=/l,upperdir=/u,workdir=/w']);
    expect(ops).toContainEqual(['caps', '1', '2']);
    expect(ops).toContainEqual(['bind', '/s', '/d', 'ro']);
  });

  it('installs seccomp last under no_new_privs, before the capability drop without it', () => {
    const base = { pid: 1, argv: ['ls'], env: [], workdir: '/', capabilities: [0], seccomp: Buffer.from([1, 2]), user: { uid: 5, gid: 6, groups: [7] } };
    expect(joinOps({ ...base, noNewPrivileges: true }).slice(3).map((o) => o[0])).toEqual(['chdir', 'caps', 'user', 'nnp', 'seccomp', 'env', 'exec']);
    expect(joinOps({ ...base, noNewPrivileges: false }).slice(3).map((o) => o[0])).toEqual(['chdir', 'seccomp', 'caps', 'user', 'env', 'exec']);
    expect(joinOps({ ...base, noNewPrivileges: true })).toContainEqual(['seccomp', '0102']);
    expect(joinOps({ ...base, noNewPrivileges: true })).toContainEqual(['user', '5', '6', '7']);
  });

  it('enters all namespaces of a running process, the mount namespace last', () => {
    const ops = joinOps({ pid: 42, argv: ['ls'], env: [], workdir: '/w', capabilities: 'all' });
    expect(ops[0]).toEqual(['setns', '/proc/42/ns/ipc', '/proc/42/ns/uts', '/proc/42/ns/net', '/proc/42/ns/pid', '/proc/42/ns/mnt']);
    expect(ops.map((o) => o[0])).toEqual(['setns', 'fork', 'go', 'chdir', 'env', 'exec']);
  });

  it('with a user namespace: made before the others, layers id-mapped before the fork, entered first before exec', () => {
    const ops = newContainerOps({
      network: 'new',
      hostname: 'h',
      rootfs: { lower: ['/l2', '/l1'], upper: '/u', work: '/w', target: '/t' },
      steps: [],
      argv: ['sh'],
      env: [],
      workdir: '/',
      capabilities: [0],
      user: { uid: 5, gid: 6, groups: [] },
      userns: { uid: 100000, gid: 200000, count: 65536 },
    });
    expect(ops.map((o) => o[0])).toEqual(['userns', 'unshare', 'private', 'idmap', 'fork', 'hostname', 'loopback', 'root', 'overlay', 'pivot', 'go', 'joinuser', 'chdir', 'caps', 'user', 'env', 'exec']);
    expect(ops[0]).toEqual(['userns', '100000', '200000', '65536']);
    expect(ops).toContainEqual(['idmap', '/l2', '/l1']);
    // The user namespace is not among unshare's flags: the others stay owned by the host's.
    expect(Number(ops[1]![1]) & 0x10000000).toBe(0);
    const join = joinOps({ pid: 42, argv: ['ls'], env: [], workdir: '/w', capabilities: 'all', userns: true });
    expect(join[0]!.at(-1)).toBe('/proc/42/ns/user');
    expect(join.map((o) => o[0])).toEqual(['setns', 'fork', 'go', 'rootid', 'chdir', 'env', 'exec']);
  });
});
