import { describe, expect, it } from 'vitest';
import { SECCOMP_RET } from '../../common/kernel/seccomp-bpf.js';
import { DEFAULT_SECCOMP_PROFILE, parseSeccompProfile, resolveSeccomp } from './seccomp-profile.js';
import { refusal } from '../../testing/refusal.js';

const DEFAULT_CAPS = new Set(['CHOWN', 'DAC_OVERRIDE', 'FSETID', 'FOWNER', 'MKNOD', 'NET_RAW', 'SETGID', 'SETUID', 'SETFCAP', 'SETPCAP', 'NET_BIND_SERVICE', 'SYS_CHROOT', 'KILL', 'AUDIT_WRITE']);
const names = (f: ReturnType<typeof resolveSeccomp>) => new Set(f.rules.map((r) => r.syscall));

describe('docker’s default seccomp profile', () => {
  it('allows ordinary syscalls and leaves out the dangerous ones without their capability', () => {
    const f = resolveSeccomp(DEFAULT_SECCOMP_PROFILE, { caps: DEFAULT_CAPS, arch: 'x64', kernel: '6.1.0' });
    expect(f.defaultAction).toBe(SECCOMP_RET.errno | 1);
    const n = names(f);
    for (const s of ['read', 'openat', 'execve', 'arch_prctl', 'chroot', 'ptrace']) expect(n.has(s), s).toBe(true);
    for (const s of ['keyctl', 'add_key', 'request_key', 'kexec_load', 'init_module', 'finit_module', 'bpf', 'mount', 'unshare', 'setns', 'reboot', 'userfaultfd', 'set_tls']) expect(n.has(s), s).toBe(false);
    expect(f.rules.filter((r) => r.syscall === 'clone')).toEqual([{ syscall: 'clone', action: SECCOMP_RET.allow, args: [{ index: 0, op: 'maskedEq', value: 0x7e020000n, valueTwo: 0n }] }]);
    expect(f.rules.find((r) => r.syscall === 'clone3')?.action).toBe(SECCOMP_RET.errno | 38);
  });

  it('opens mount, unshare and clone with CAP_SYS_ADMIN, module loading with CAP_SYS_MODULE', () => {
    const f = resolveSeccomp(DEFAULT_SECCOMP_PROFILE, { caps: new Set([...DEFAULT_CAPS, 'SYS_ADMIN', 'SYS_MODULE']), arch: 'x64', kernel: '6.1.0' });
    const n = names(f);
    for (const s of ['mount', 'unshare', 'setns', 'init_module', 'bpf']) expect(n.has(s), s).toBe(true);
    expect(f.rules.filter((r) => r.syscall === 'clone').map((r) => r.args)).toEqual([[]]);
    expect(f.rules.find((r) => r.syscall === 'clone3')?.action).toBe(SECCOMP_RET.allow);
  });

  it('honours arches and minKernel', () => {
    const p = parseSeccompProfile('{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["a"],"action":"SCMP_ACT_ALLOW","includes":{"minKernel":"6.2"}},{"names":["b"],"action":"SCMP_ACT_ALLOW","excludes":{"arches":["arm64"]}}]}');
    return p.then((profile) => {
      expect(names(resolveSeccomp(profile, { caps: new Set(), arch: 'x64', kernel: '6.1.0-18-amd64' }))).toEqual(new Set(['b']));
      expect(names(resolveSeccomp(profile, { caps: new Set(), arch: 'arm64', kernel: '6.10.2' }))).toEqual(new Set(['a']));
    });
  });
});

describe('parseSeccompProfile', () => {
  it('reads docker’s format, errno values and argument checks included', async () => {
    const p = await parseSeccompProfile(JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ name: 'keyctl', action: 'SCMP_ACT_ERRNO', errnoRet: 38, args: [{ index: 0, value: 1, op: 'SCMP_CMP_GE' }] }] }));
    const f = resolveSeccomp(p, { caps: new Set(), arch: 'x64', kernel: '6.1' });
    expect(f).toEqual({ defaultAction: SECCOMP_RET.allow, rules: [{ syscall: 'keyctl', action: SECCOMP_RET.errno | 38, args: [{ index: 0, op: 'ge', value: 1n, valueTwo: 0n }] }] });
  });

  it('names what is wrong', async () => {
    await expect(parseSeccompProfile('{')).rejects.toThrow(refusal('ERR_INVALID_ARGUMENT', /seccomp profile: not JSON/));
    await expect(parseSeccompProfile('{"defaultAction":"SCMP_ACT_NOTIFY"}')).rejects.toThrow(refusal('ERR_INVALID_ARGUMENT', /defaultAction/));
    await expect(parseSeccompProfile('{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["x"],"action":"SCMP_ACT_ALLOW","args":[{"index":9,"value":1,"op":"SCMP_CMP_EQ"}]}]}')).rejects.toThrow(refusal('ERR_INVALID_ARGUMENT', /syscalls\.0\.args\.0\.index/));
  });
});
