/**
 * @module Starting processes in new or existing container namespaces through the init helper of
 * `container-init.ts`, with a two-step handshake so the caller can act between "the process exists"
 * and "the command runs": put it in a cgroup, wire its network. Also names network namespaces after
 * a running process (`ip netns attach`), and starts a container's detached supervisor (this program
 * again). Never runs anything through a shell.
 */
import { closeSync, openSync } from 'node:fs';
import { constants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { KernelError } from './errors.js';
import { CommandError, run, start, type Child } from './exec.js';
import { CLONE_FLAGS, encodeInitOps, initProgram, MOUNT_FLAGS, type InitOp, type MountFlag } from './container-init.js';
import { overlayOptions } from './mount-info.js';
import type { OverlaySpec } from './mount.js';
import { netnsExists, netnsPath } from './netns.js';

/** The init helper failed before the command ran. `exitCode` is Docker's: 125 setup, 126 cannot run, 127 not found. */
export class ContainerInitError extends KernelError {
  override readonly code = 'ERR_CONTAINER_INIT';
  readonly exitCode: number;

  constructor(object: string, exitCode: number, detail: string) {
    super(object, 'start', detail);
    this.name = 'ContainerInitError';
    this.exitCode = exitCode;
  }
}

/** One step that builds the container's root filesystem; paths are container paths (resolved inside the root). */
export type RootfsStep =
  | { op: 'mount'; source: string; fstype: string; target: string; flags?: MountFlag[]; data?: string }
  /** Bind a host path; the target is created as a directory or file like the source. */
  | { op: 'bind'; source: string; target: string; readonly?: boolean }
  | { op: 'symlink'; target: string; path: string }
  /** Hide a path: an empty read-only tmpfs over a directory, /dev/null over a file; absent paths are skipped. */
  | { op: 'mask'; path: string }
  /** Make a path read-only (bound onto itself); absent paths are skipped. */
  | { op: 'readonly'; path: string };

/** What the command runs as and with. */
export interface ProcessSpec {
  argv: string[];
  /** `KEY=value` strings; the whole environment. */
  env: string[];
  /** Working directory inside the container. */
  workdir: string;
  /**
   * Capability numbers to keep (bounding, effective, permitted, inheritable), as far as this process
   * has them; `all` keeps every one it has.
   */
  capabilities: number[] | 'all';
  /** The identity the command runs as (default: the caller's, root); caps are cleared for a non-root uid. */
  user?: { uid: number; gid: number; groups: number[] };
  /** Set `no_new_privs`: setuid bits and file capabilities no longer raise privileges. */
  noNewPrivileges?: boolean;
  /** A classic BPF seccomp filter (`struct sock_filter` array) installed right before exec. */
  seccomp?: Buffer;
}

/** A user namespace's id map: container ids 0..count-1 are host `uid`.. and `gid`... */
export interface IdMap {
  uid: number;
  gid: number;
  count: number;
}

/** A new container: fresh pid, mount, UTS and IPC namespaces, a root pivoted into `rootfs.target`. */
export interface NewContainerSpec extends ProcessSpec {
  /**
   * Run the command in a new user namespace with this map (see userns.ts for what the host needs):
   * the namespaces are made by host root as without it, the image's layers are id-mapped (in the
   * container's mount namespace only) so that they look owned by container root, the upper and work
   * directories are given to the mapped root, and the command enters the user namespace last.
   */
  userns?: IdMap;
  /** `new`: a fresh network namespace with only `lo` up; `host`: the caller's; a name: that named namespace. */
  network: 'new' | 'host' | { netns: string };
  hostname: string;
  /**
   * The overlay that becomes `/` (upper, work and target directories are created if missing); it is
   * mounted `nodev` inside the container's mount namespace only, so it dies with the container.
   */
  rootfs: OverlaySpec;
  /** Run after `/` is mounted and before pivot_root, in order. */
  steps: RootfsStep[];
}

/** A process in a running container's namespaces (pid, mount, UTS, IPC, network of `pid`). */
export interface JoinSpec extends ProcessSpec {
  pid: number;
  /** The container has its own user namespace: join that too (as its root, before the rest). */
  userns?: boolean;
}

/** Where one of the command's standard streams goes: as Node's `spawn` takes it. */
export type StdioSlot = 'inherit' | 'ignore' | 'pipe' | number;

/** Options of {@link launchContainer} and {@link launchInContainer}. */
export interface LaunchOptions {
  /** Standard input, output and error of the command. */
  stdio: [StdioSlot, StdioSlot, StdioSlot];
  /** Start in a new session (no controlling terminal), as a detached container does. */
  detached?: boolean;
  /** Perl interpreter (default `perl` from PATH). */
  perl?: string;
}

/** A launched process, stopped before its command until {@link Launched.start}. */
export interface Launched {
  /** The waiter process (the helper's parent half); its exit status is the command's. */
  readonly waiter: Child;
  /** Host pid of the process that becomes the command (PID 1 of a new container). */
  readonly pid: number;
  /**
   * Lets the process exec its command (a new container builds its root meanwhile or before).
   * Resolves once the exec succeeded; rejects with {@link ContainerInitError} when a step or the
   * exec failed.
   */
  start(): Promise<void>;
  /** Gives up before start: the process exits without running anything. Idempotent. */
  abort(): void;
  /** The command's exit code (128+N when killed by signal N). */
  readonly exited: Promise<number>;
}

const flagsValue = (flags: readonly MountFlag[] = []) => String(flags.reduce((v, f) => v | MOUNT_FLAGS[f], 0));

function capsOps(caps: ProcessSpec['capabilities']): InitOp[] {
  if (caps === 'all') return [];
  let lo = 0;
  let hi = 0;
  for (const c of caps) {
    if (!Number.isInteger(c) || c < 0 || c > 63) throw new RangeError(`capability number ${c} out of range`);
    if (c < 32) lo = (lo | (1 << c)) >>> 0;
    else hi = (hi | (1 << (c - 32))) >>> 0;
  }
  return [['caps', String(lo), String(hi)]];
}

function stepOp(s: RootfsStep): InitOp {
  switch (s.op) {
    case 'mount':
      return ['mount', s.source, s.fstype, flagsValue(s.flags), s.data ?? '', s.target];
    case 'bind':
      return ['bind', s.source, s.target, s.readonly ? 'ro' : 'rw'];
    case 'symlink':
      return ['symlink', s.target, s.path];
    case 'mask':
    case 'readonly':
      return [s.op, s.path];
  }
}

/**
 * Installing a filter needs no_new_privs or CAP_SYS_ADMIN: with no_new_privs it is the last step
 * before exec, without it it comes before the capabilities are dropped (as runc does).
 */
function execOps(spec: ProcessSpec, makeWorkdir: boolean, enterUser: InitOp[]): InitOp[] {
  if (spec.argv.length === 0) throw new RangeError('argv must name a command');
  const seccomp: InitOp[] = spec.seccomp ? [['seccomp', spec.seccomp.toString('hex')]] : [];
  const user: InitOp[] = spec.user ? [['user', String(spec.user.uid), String(spec.user.gid), ...spec.user.groups.map(String)]] : [];
  return [
    ...enterUser,
    ['chdir', spec.workdir, makeWorkdir ? '1' : '0'],
    ...(spec.noNewPrivileges ? [] : seccomp),
    ...capsOps(spec.capabilities),
    ...user,
    ...(spec.noNewPrivileges ? [['nnp'] as InitOp, ...seccomp] : []),
    ['env', ...spec.env],
    ['exec', ...spec.argv],
  ];
}

/** The instructions for a new container. Pure; exported for tests. */
export function newContainerOps(spec: NewContainerSpec): InitOp[] {
  let flags = CLONE_FLAGS.mount | CLONE_FLAGS.uts | CLONE_FLAGS.ipc | CLONE_FLAGS.pid;
  if (spec.network === 'new') flags |= CLONE_FLAGS.net;
  const { lower, upper, work, target } = spec.rootfs;
  // The root is built while the caller records the process (`go` comes after it): nothing of the
  // container's own runs before `go`, and the mounts die with the process if the caller aborts.
  const { userns } = spec;
  return [
    ...(userns ? [['userns', String(userns.uid), String(userns.gid), String(userns.count)] as InitOp] : []),
    ['unshare', String(flags)],
    ...(typeof spec.network === 'object' ? [['setns', netnsPath(spec.network.netns)] as InitOp] : []),
    ['private'],
    ...(userns ? [['idmap', ...lower] as InitOp] : []),
    ['fork'],
    ['hostname', spec.hostname],
    ...(spec.network === 'new' ? [['loopback'] as InitOp] : []),
    ['root', target],
    ['overlay', upper, work, overlayOptions(lower, upper, work).join(',')],
    ...spec.steps.map(stepOp),
    ['pivot'],
    ['go'],
    ...execOps(spec, true, userns ? [['joinuser']] : []),
  ];
}

/** The instructions for a process joining a running container. Pure; exported for tests. */
export function joinOps(spec: JoinSpec): InitOp[] {
  // All namespace files are opened before the first setns: after entering the mount namespace,
  // /proc is the container's. The mount namespace goes last for the same reason.
  // The user namespace comes after them all: entering the others needs host root's privileges.
  const ns = ['ipc', 'uts', 'net', 'pid', 'mnt', ...(spec.userns ? ['user'] : [])].map((n) => `/proc/${spec.pid}/ns/${n}`);
  return [['setns', ...ns], ['fork'], ['go'], ...execOps(spec, false, spec.userns ? [['rootid']] : [])];
}

/** Reads `\n`-terminated lines from `stream`; `next()` resolves with undefined at end of file. */
function lineReader(stream: Readable): { next(): Promise<string | undefined> } {
  let buf = '';
  let ended = false;
  let wake: (() => void) | undefined;
  stream.setEncoding('utf8');
  stream.on('data', (d: string) => {
    buf += d;
    wake?.();
  });
  stream.on('end', () => {
    ended = true;
    wake?.();
  });
  stream.on('error', () => {
    ended = true;
    wake?.();
  });
  return {
    async next() {
      for (;;) {
        const nl = buf.indexOf('\n');
        if (nl >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          return line;
        }
        if (ended) return undefined;
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
    },
  };
}

function parseError(line: string | undefined, object: string): ContainerInitError | undefined {
  if (line === undefined) return undefined;
  const m = /^error (\d+) (.*)$/.exec(line);
  if (!m) return new ContainerInitError(object, 125, `unexpected message from the init helper: ${line}`);
  return new ContainerInitError(object, Number(m[1]), m[2]!);
}

/**
 * An init helper that is running but has no instructions yet. Spawning it before the caller's own
 * preparation lets Perl start and compile its program meanwhile.
 */
export interface InitHelper {
  /**
   * Has the helper join cgroups at once, by writing its own pid to each `cgroup.procs` file in
   * `files` (see cgroupProcsFiles in cgroup.ts): its process, and so the container's, is then born
   * in them. Moving a process between cgroups can wait for an RCU grace period in the kernel (v1,
   * often 10-20 ms); sent early, that wait overlaps the caller's remaining preparation. A failure
   * is reported by the launch that follows.
   */
  joinCgroups(files: readonly string[]): void;
  /** Sends the instructions of a new container; see {@link launchContainer}. Once only. */
  launchContainer(spec: NewContainerSpec): Promise<Launched>;
  /** Sends the instructions of a process joining `spec.pid`; see {@link launchInContainer}. Once only. */
  launchInContainer(spec: JoinSpec): Promise<Launched>;
  /** Lets it go without instructions: it exits having done nothing. Idempotent; a no-op once launched. */
  dispose(): void;
}

/**
 * Spawns the init helper with `opts.stdio` as the command's standard streams; it waits for its
 * instructions.
 */
export function spawnInitHelper(opts: LaunchOptions): InitHelper {
  const [stdin, stdout, stderr] = opts.stdio;
  const waiter = start([opts.perl ?? 'perl', '-e', initProgram()], { stdin, stdout, stderr, extraFds: ['pipe', 'pipe'], detached: opts.detached ?? false });
  const exited = waiter.done.then(({ code, signal }) => code ?? 128 + (signal ? constants.signals[signal] : 0));
  const ctl = waiter.fd(3) as Writable;
  const status = lineReader(waiter.fd(4) as Readable);
  ctl.on('error', () => undefined); // the status channel reports why the helper went away
  let used = false;

  async function launch(ops: InitOp[], object: string): Promise<Launched> {
    if (used) throw new Error('an init helper takes one set of instructions');
    used = true;
    ctl.write(encodeInitOps(ops));
    const first = await status.next();
    const pidMatch = first === undefined ? null : /^pid (\d+)$/.exec(first);
    if (!pidMatch) {
      ctl.destroy();
      const { startError } = await waiter.done;
      if (startError) throw new ContainerInitError(object, 125, `cannot run perl: ${startError}`);
      throw parseError(first, object) ?? new ContainerInitError(object, 125, 'the init helper exited without a word');
    }
    let settled = false;
    return {
      waiter,
      pid: Number(pidMatch[1]),
      exited,
      async start() {
        if (settled) throw new Error('start() called twice, or after abort()');
        settled = true;
        ctl.end('g');
        const err = parseError(await status.next(), object);
        if (err) {
          await exited;
          throw err;
        }
      },
      abort() {
        if (settled) return;
        settled = true;
        ctl.destroy();
      },
    };
  }

  return {
    joinCgroups(files) {
      if (used) throw new Error('joinCgroups() after the instructions were sent');
      if (files.length > 0) ctl.write(encodeInitOps([['cgroup', ...files]]));
    },
    launchContainer: (spec) => launch(newContainerOps(spec), `container "${spec.hostname}"`),
    launchInContainer: (spec) => launch(joinOps(spec), `process ${spec.pid}`),
    dispose() {
      if (used) return;
      used = true;
      ctl.destroy();
    },
  };
}

/**
 * Starts the init helper for a new container and resolves once its process exists (stopped before
 * its first instruction of the container's own). Nothing is left on the host by the namespaces or
 * mounts it makes: they live and die with the process.
 * @throws ContainerInitError when the namespaces cannot be made or entered.
 */
export function launchContainer(spec: NewContainerSpec, opts: LaunchOptions): Promise<Launched> {
  return spawnInitHelper(opts).launchContainer(spec);
}

/**
 * Starts a process in the namespaces of the running process `spec.pid`, stopped before it runs.
 * @throws ContainerInitError when the namespaces cannot be entered.
 */
export function launchInContainer(spec: JoinSpec, opts: LaunchOptions): Promise<Launched> {
  return spawnInitHelper(opts).launchInContainer(spec);
}

/** A process started by {@link startSelfDetached}, waiting for the word to go on. */
export interface DetachedSelf {
  /**
   * Lets it go on (a `go` line on its standard input) and resolves with the first line it then
   * reports on fd 3, or undefined when it closed fd 3 (or exited) without one.
   */
  go(): Promise<string | undefined>;
  /** Closes its standard input without a word: it exits having done nothing. */
  cancel(): void;
}

/**
 * Starts this program again (`process.execPath` with this process's Node flags and script) with
 * `args`, detached in its own session so that it outlives the caller, as a container's supervisor
 * does: standard output goes to /dev/null, standard error is appended to `logFile`, standard input
 * carries the word to go on (see {@link DetachedSelf}), and fd 3 is a pipe on which it reports.
 * Started early, its Node start overlaps the caller's own work; it is never waited for. `env`: its
 * whole environment (default: this process's).
 */
export function startSelfDetached(args: readonly string[], logFile: string, env?: NodeJS.ProcessEnv): DetachedSelf {
  const log = openSync(logFile, 'a', 0o600);
  let child: Child;
  try {
    // A start failure ends fd 3 without a line.
    child = start([process.execPath, ...process.execArgv, process.argv[1]!, ...args], { detached: true, stdin: 'pipe', stdout: 'ignore', stderr: log, extraFds: ['pipe'], ...(env ? { env } : {}) });
  } finally {
    closeSync(log);
  }
  child.unref();
  const input = child.stdin as Writable;
  input.on('error', () => undefined);
  const pipe = child.fd(3) as Readable;
  const reports = lineReader(pipe);
  return {
    async go() {
      input.end('go\n');
      const line = await reports.next();
      pipe.destroy();
      return line;
    },
    cancel() {
      input.destroy();
      pipe.destroy();
    },
  };
}

/**
 * Names the network namespace of process `pid` as `name` under /run/netns (so plugins get a
 * SandboxKey path). Idempotent: an existing name is kept.
 * @throws CommandError when `ip netns attach` fails.
 */
export async function attachNetns(name: string, pid: number): Promise<void> {
  if (await netnsExists(name)) return;
  try {
    await run(['ip', 'netns', 'attach', name, String(pid)], { object: `netns "${name}"`, step: `attach process ${pid} as` });
  } catch (err) {
    if (!(err instanceof CommandError && /File exists/.test(err.stderr))) throw err;
  }
}
