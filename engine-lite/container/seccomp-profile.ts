/**
 * @module Seccomp profiles in Docker's JSON format (`--security-opt seccomp=FILE`), docker's default
 * profile (an allowlist: moby profiles/seccomp/default.json, written here as data of our own shape),
 * and their resolution for one container, as dockerd does it: rules whose `includes`/`excludes`
 * (capabilities, architectures, minimum kernel) do not fit the container are left out. The result
 * is what common/kernel/seccomp-bpf.ts compiles. Pure, except {@link readSeccompProfile}.
 */
import { readFile } from 'node:fs/promises';
import { release } from 'node:os';
import { SECCOMP_RET, type ArgOp, type SeccompFilter } from '../../common/kernel/seccomp-bpf.js';
import { InvalidArgumentError } from '../errors.js';

const ACTIONS = ['SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_TRAP', 'SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE', 'SCMP_ACT_ALLOW', 'SCMP_ACT_LOG'] as const;
type Action = (typeof ACTIONS)[number];
const OPS: Record<string, ArgOp> = {
  SCMP_CMP_EQ: 'eq', SCMP_CMP_NE: 'ne', SCMP_CMP_LT: 'lt', SCMP_CMP_LE: 'le', SCMP_CMP_GT: 'gt', SCMP_CMP_GE: 'ge', SCMP_CMP_MASKED_EQ: 'maskedEq',
};

interface Condition {
  caps?: string[];
  arches?: string[];
  minKernel?: string;
}

/** One entry of `syscalls` in Docker's format. */
interface SyscallEntry {
  names?: string[];
  name?: string;
  action: Action;
  errnoRet?: number;
  args?: { index: number; value: number; valueTwo?: number; op: string }[] | null;
  includes?: Condition;
  excludes?: Condition;
}

/** A profile in Docker's JSON format (the fields engine-lite reads; `archMap` and the like are ignored). */
export interface SeccompProfile {
  defaultAction: Action;
  defaultErrnoRet?: number;
  syscalls?: SyscallEntry[] | null;
}

/** The checker of Docker's format; zod is loaded only when a user gives a profile. */
async function profileSchema() {
  const { z } = await import('zod');
  const condition = z.object({
    caps: z.array(z.string()).optional(),
    arches: z.array(z.string()).optional(),
    minKernel: z.string().regex(/^\d+\.\d+/, 'minKernel must look like "4.8"').optional(),
  });
  const errno = z.number().int().min(0).max(4095).optional();
  return z.object({
    defaultAction: z.enum(ACTIONS),
    defaultErrnoRet: errno,
    syscalls: z
      .array(
        z.object({
          names: z.array(z.string()).optional(),
          name: z.string().optional(),
          action: z.enum(ACTIONS),
          errnoRet: errno,
          args: z
            .array(z.object({ index: z.number().int().min(0).max(5), value: z.number().int().nonnegative(), valueTwo: z.number().int().nonnegative().optional(), op: z.enum(Object.keys(OPS) as [string, ...string[]]) }))
            .nullable()
            .optional(),
          includes: condition.optional(),
          excludes: condition.optional(),
        }),
      )
      .nullable()
      .optional(),
  });
}

/**
 * Checks a Docker-format profile.
 * @throws InvalidArgumentError naming the first wrong field.
 */
export async function parseSeccompProfile(text: string, what = 'seccomp profile'): Promise<SeccompProfile> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(`${what}: not JSON: ${(err as Error).message}`);
  }
  const r = (await profileSchema()).safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new InvalidArgumentError(`${what}: ${issue.path.join('.') || '(top)'}: ${issue.message}`);
  }
  return r.data;
}

/** Reads and checks `--security-opt seccomp=FILE`; returns the file's text (what the record keeps). */
export async function readSeccompProfile(file: string): Promise<string> {
  const text = await readFile(file, 'utf8').catch((err: Error) => {
    throw new InvalidArgumentError(`opening seccomp profile (${file}) failed: ${err.message}`);
  });
  await parseSeccompProfile(text, `seccomp profile ${file}`);
  return text;
}

// Docker's default profile. Syscalls every container may make:
const ALLOWED = `accept accept4 access adjtimex alarm bind brk capget capset chdir chmod chown chown32 clock_adjtime
clock_adjtime64 clock_getres clock_getres_time64 clock_gettime clock_gettime64 clock_nanosleep clock_nanosleep_time64
close close_range connect copy_file_range creat dup dup2 dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old
epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2 execve execveat exit exit_group faccessat faccessat2
fadvise64 fadvise64_64 fallocate fanotify_mark fchdir fchmod fchmodat fchown fchown32 fchownat fcntl fcntl64 fdatasync
fgetxattr flistxattr flock fork fremovexattr fsetxattr fstat fstat64 fstatat64 fstatfs fstatfs64 fsync ftruncate
ftruncate64 futex futex_time64 futex_waitv futimesat getcpu getcwd getdents getdents64 getegid getegid32 geteuid
geteuid32 getgid getgid32 getgroups getgroups32 getitimer getpeername getpgid getpgrp getpid getppid getpriority
getrandom getresgid getresgid32 getresuid getresuid32 getrlimit get_robust_list getrusage getsid getsockname getsockopt
get_thread_area gettid gettimeofday getuid getuid32 getxattr inotify_add_watch inotify_init inotify_init1
inotify_rm_watch io_cancel ioctl io_destroy io_getevents io_pgetevents io_pgetevents_time64 ioprio_get ioprio_set
io_setup io_submit io_uring_enter io_uring_register io_uring_setup ipc kill landlock_add_rule landlock_create_ruleset
landlock_restrict_self lchown lchown32 lgetxattr link linkat listen listxattr llistxattr _llseek lremovexattr lseek
lsetxattr lstat lstat64 madvise membarrier memfd_create memfd_secret mincore mkdir mkdirat mknod mknodat mlock mlock2
mlockall mmap mmap2 mprotect mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedreceive_time64 mq_timedsend
mq_timedsend_time64 mq_unlink mremap msgctl msgget msgrcv msgsnd msync munlock munlockall munmap name_to_handle_at
nanosleep newfstatat _newselect open openat openat2 pause pidfd_open pidfd_send_signal pipe pipe2 pkey_alloc pkey_free
pkey_mprotect poll ppoll ppoll_time64 prctl pread64 preadv preadv2 prlimit64 process_mrelease pselect6 pselect6_time64
pwrite64 pwritev pwritev2 read readahead readlink readlinkat readv recv recvfrom recvmmsg recvmmsg_time64 recvmsg
remap_file_pages removexattr rename renameat renameat2 restart_syscall rmdir rseq rt_sigaction rt_sigpending
rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo
sched_getaffinity sched_getattr sched_getparam sched_get_priority_max sched_get_priority_min sched_getscheduler
sched_rr_get_interval sched_rr_get_interval_time64 sched_setaffinity sched_setattr sched_setparam sched_setscheduler
sched_yield seccomp select semctl semget semop semtimedop semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg
sendto setfsgid setfsgid32 setfsuid setfsuid32 setgid setgid32 setgroups setgroups32 setitimer setpgid setpriority
setregid setregid32 setresgid setresgid32 setresuid setresuid32 setreuid setreuid32 setrlimit set_robust_list setsid
setsockopt set_thread_area set_tid_address setuid setuid32 setxattr shmat shmctl shmdt shmget shutdown sigaltstack
signalfd signalfd4 sigprocmask sigreturn socketcall socketpair splice stat stat64 statfs statfs64 statx symlink
symlinkat sync sync_file_range syncfs sysinfo tee tgkill time timer_create timer_delete timer_getoverrun timer_gettime
timer_gettime64 timer_settime timer_settime64 timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime
timerfd_settime64 times tkill truncate truncate64 ugetrlimit umask uname unlink unlinkat utime utimensat
utimensat_time64 utimes vfork vmsplice wait4 waitid waitpid write writev process_vm_readv process_vm_writev ptrace`;

/** Syscalls allowed only with a capability (the name without CAP_). */
const WITH_CAP: Record<string, string> = {
  SYS_ADMIN: `bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie mount mount_setattr move_mount
open_tree perf_event_open quotactl quotactl_fd setdomainname sethostname setns syslog umount umount2 unshare`,
  SYS_BOOT: 'reboot',
  SYS_CHROOT: 'chroot',
  SYS_MODULE: 'delete_module init_module finit_module',
  SYS_PACCT: 'acct',
  SYS_PTRACE: 'kcmp pidfd_getfd process_madvise',
  SYS_RAWIO: 'iopl ioperm',
  SYS_TIME: 'settimeofday stime clock_settime clock_settime64',
  SYS_TTY_CONFIG: 'vhangup',
  SYS_NICE: 'get_mempolicy mbind set_mempolicy set_mempolicy_home_node',
  SYSLOG: 'syslog',
  BPF: 'bpf',
  PERFMON: 'perf_event_open',
  DAC_READ_SEARCH: 'open_by_handle_at',
};

/** Syscalls allowed on some architectures only (docker's `arches` names). */
const ON_ARCH: [names: string, arches: string[]][] = [
  ['arch_prctl', ['amd64', 'x32']],
  ['modify_ldt', ['amd64', 'x32', 'x86']],
  ['arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls', ['arm', 'arm64']],
];

/** clone flags that make a new namespace (CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET). */
const NEW_NAMESPACE_FLAGS = 0x7e020000;
const AF_VSOCK = 40;
/** personality(2) values a program may set: PER_LINUX, UNAME26, PER_LINUX32, UNAME26|PER_LINUX32, query. */
const PERSONALITIES = [0, 8, 0x20000, 0x20008, 0xffffffff];

const words = (s: string) => s.split(/\s+/).filter(Boolean);

/** Docker's default profile, in Docker's JSON shape. */
export const DEFAULT_SECCOMP_PROFILE: SeccompProfile = {
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: 1,
  syscalls: [
    { names: words(ALLOWED), action: 'SCMP_ACT_ALLOW' },
    { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: AF_VSOCK, op: 'SCMP_CMP_NE' }] },
    ...PERSONALITIES.map((value) => ({ names: ['personality'], action: 'SCMP_ACT_ALLOW' as const, args: [{ index: 0, value, op: 'SCMP_CMP_EQ' }] })),
    ...ON_ARCH.map(([names, arches]) => ({ names: words(names), action: 'SCMP_ACT_ALLOW' as const, includes: { arches } })),
    ...Object.entries(WITH_CAP).map(([cap, names]) => ({ names: words(names), action: 'SCMP_ACT_ALLOW' as const, includes: { caps: [`CAP_${cap}`] } })),
    // Without CAP_SYS_ADMIN: clone without new-namespace flags only, and clone3 (whose flags a filter cannot see) says ENOSYS so libc falls back to clone.
    { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: NEW_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }], excludes: { caps: ['CAP_SYS_ADMIN'] } },
    { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38, excludes: { caps: ['CAP_SYS_ADMIN'] } },
  ],
};

/** Docker's `arches` name of a Node `process.arch`. */
const DOCKER_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', ia32: 'x86', arm: 'arm' };

const kernelAtLeast = (kernel: string, min: string) => {
  const [a = 0, b = 0] = kernel.split(/[.-]/).map(Number);
  const [c = 0, d = 0] = min.split('.').map(Number);
  return a !== c ? a > c : b >= d;
};

function actionValue(a: Action, errno: number | undefined): number {
  switch (a) {
    case 'SCMP_ACT_ALLOW': return SECCOMP_RET.allow;
    case 'SCMP_ACT_ERRNO': return SECCOMP_RET.errno | (errno ?? 1);
    case 'SCMP_ACT_TRACE': return SECCOMP_RET.trace | (errno ?? 1);
    case 'SCMP_ACT_TRAP': return SECCOMP_RET.trap;
    case 'SCMP_ACT_LOG': return SECCOMP_RET.log;
    case 'SCMP_ACT_KILL_PROCESS': return SECCOMP_RET.killProcess;
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD': return SECCOMP_RET.killThread;
  }
}

/**
 * The filter `profile` gives a container with capabilities `caps` (names without CAP_) on `arch`
 * under kernel `kernel`: rules kept only where every `includes` condition holds and no `excludes`
 * one does, as dockerd decides.
 */
export function resolveSeccomp(profile: SeccompProfile, opts: { caps: ReadonlySet<string>; arch?: string; kernel?: string }): SeccompFilter {
  const arch = DOCKER_ARCH[opts.arch ?? process.arch] ?? opts.arch ?? process.arch;
  const kernel = opts.kernel ?? release();
  const hasCap = (c: string) => opts.caps.has(c.toUpperCase().replace(/^CAP_/, ''));
  const rules: SeccompFilter['rules'] = [];
  for (const s of profile.syscalls ?? []) {
    const inc = s.includes ?? {};
    const exc = s.excludes ?? {};
    if (inc.caps && !inc.caps.every(hasCap)) continue;
    if (inc.arches && !inc.arches.includes(arch)) continue;
    if (inc.minKernel && !kernelAtLeast(kernel, inc.minKernel)) continue;
    if (exc.caps?.some(hasCap)) continue;
    if (exc.arches?.includes(arch)) continue;
    if (exc.minKernel && kernelAtLeast(kernel, exc.minKernel)) continue;
    const action = actionValue(s.action, s.errnoRet);
    const args = (s.args ?? []).map((a) => ({ index: a.index, op: OPS[a.op]!, value: BigInt(a.value), valueTwo: BigInt(a.valueTwo ?? 0) }));
    for (const name of [...(s.names ?? []), ...(s.name ? [s.name] : [])]) rules.push({ syscall: name, action, args });
  }
  return { defaultAction: actionValue(profile.defaultAction, profile.defaultErrnoRet), rules };
}
