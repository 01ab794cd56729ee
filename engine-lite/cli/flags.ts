/**
 * @module The flags of the global options and of `run`, as data: commander registers them (help,
 * errors, every other command), and {@link parseFastPath} reads a plain `run` (and the hidden
 * `__supervise`) without loading commander at all, which is most of a `run --rm IMAGE true`'s
 * module loading. Anything the fast path does not fully understand (`--help`, an unknown or
 * malformed flag, a bad value) is left to commander, so users get its messages.
 */
import type { RunRequest } from '../container/create.js';

/** One flag: `--long`, maybe `-s`, boolean or taking a value (repeatable ones collect into a list). */
export interface FlagSpec {
  long: string;
  short?: string;
  /** Placeholder of the value (`<name>`); absent for a boolean flag. */
  value?: string;
  repeatable?: boolean;
  description: string;
}

/** The global flags every command takes (before the command's name). */
export const GLOBAL_FLAGS = {
  stateDir: { long: 'state-dir', value: '<dir>', description: 'where containers, networks, volumes and images are recorded' },
  pluginsDir: { long: 'plugins-dir', value: '<dir>', description: 'where plugin sockets are found (dockerd: /run/docker/plugins)' },
  pluginTimeout: { long: 'plugin-timeout', value: '<seconds>', description: 'give up on a plugin call after this long' },
} as const satisfies Record<string, FlagSpec>;

/** `run`'s flags, as docker spells them. */
export const RUN_FLAGS: readonly FlagSpec[] = [
  { long: 'detach', short: 'd', description: 'run in the background and print the container ID' },
  { long: 'rm', description: 'remove the container (and its anonymous volumes) when it exits' },
  { long: 'name', value: '<name>', description: 'assign a name to the container' },
  { long: 'interactive', short: 'i', description: 'keep STDIN open' },
  { long: 'tty', short: 't', description: 'the container uses this terminal (no pseudo-TTY is allocated)' },
  { long: 'env', short: 'e', value: '<KEY=value>', repeatable: true, description: 'set an environment variable' },
  { long: 'env-file', value: '<file>', repeatable: true, description: 'read environment variables from a file' },
  { long: 'workdir', short: 'w', value: '<dir>', description: 'working directory inside the container' },
  { long: 'hostname', short: 'h', value: '<name>', description: 'container host name' },
  { long: 'entrypoint', value: '<cmd>', description: 'overwrite the image ENTRYPOINT' },
  { long: 'memory', short: 'm', value: '<bytes>', description: 'memory limit (e.g. 64m)' },
  { long: 'cpus', value: '<number>', description: 'number of CPUs' },
  { long: 'pids-limit', value: '<n>', description: 'process limit (0 or -1: unlimited)' },
  { long: 'network', value: '<network>', repeatable: true, description: 'connect to a network (repeatable; none, host, or a network name)' },
  { long: 'ip', value: '<address>', description: 'IPv4 address on the first network' },
  { long: 'ip6', value: '<address>', description: 'IPv6 address on the first network' },
  { long: 'mac-address', value: '<mac>', description: 'MAC address on the first network' },
  { long: 'network-alias', value: '<alias>', repeatable: true, description: 'network-scoped alias' },
  { long: 'volume', short: 'v', value: '<spec>', repeatable: true, description: 'bind mount /host:/ctr[:ro] or volume NAME:/ctr[:ro]' },
  { long: 'mount', value: '<spec>', repeatable: true, description: 'mount: type=bind|volume|tmpfs,src=…,dst=…[,readonly]' },
  { long: 'tmpfs', value: '<dst[:opts]>', repeatable: true, description: 'mount a tmpfs' },
  { long: 'volume-driver', value: '<driver>', description: 'volume driver for -v NAME:… (default tsvol)' },
  { long: 'publish', short: 'p', value: '<spec>', repeatable: true, description: 'publish a port ([ip:][hostPort:]containerPort[/proto])' },
  { long: 'expose', value: '<port>', repeatable: true, description: 'expose a port' },
  { long: 'dns', value: '<ip>', repeatable: true, description: 'DNS server' },
  { long: 'dns-search', value: '<domain>', repeatable: true, description: 'DNS search domain' },
  { long: 'dns-option', value: '<option>', repeatable: true, description: 'DNS option' },
  { long: 'add-host', value: '<host:ip>', repeatable: true, description: 'add a line to /etc/hosts' },
  { long: 'cap-add', value: '<cap>', repeatable: true, description: 'add a Linux capability' },
  { long: 'cap-drop', value: '<cap>', repeatable: true, description: 'drop a Linux capability' },
  { long: 'device', value: '<host[:container][:rwm]>', repeatable: true, description: 'give the container a host device (bound into it and allowed by its device cgroup)' },
  { long: 'privileged', description: 'all capabilities, writable /sys, nothing masked in /proc, no seccomp filter' },
  { long: 'security-opt', value: '<opt>', repeatable: true, description: 'seccomp=unconfined|FILE (docker JSON profile), no-new-privileges[=true|false]' },
  { long: 'read-only', description: "mount the container's root filesystem read-only" },
  { long: 'user', short: 'u', value: '<user[:group]>', description: 'user (name or uid) and group to run as' },
  { long: 'userns', value: '<host|remap[:HOSTUID[:COUNT]]>', description: 'run in a user namespace: container root is host HOSTUID (default: tsremap in /etc/subuid, else 100000:65536)' },
  { long: 'stop-signal', value: '<signal>', description: 'signal `stop` sends (default SIGTERM)' },
  { long: 'stop-timeout', value: '<seconds>', description: 'seconds `stop` waits before SIGKILL (default 10)' },
];

/** The property a flag's value is stored under, as commander names it (`env-file` → `envFile`). */
export const flagKey = (f: FlagSpec): string => f.long.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** Commander's flags string of `f` (`-e, --env <KEY=value>`). */
export const commanderFlags = (f: FlagSpec): string => `${f.short ? `-${f.short}, ` : ''}--${f.long}${f.value ? ` ${f.value}` : ''}`;

type Values = Record<string, string | string[] | boolean>;

/**
 * Reads leading flags of `specs` from `args` the way commander does (`--x v`, `--x=v`, `-x v`, `-xv`,
 * grouped booleans `-it`, `--` ending the flags) and stops at the first positional argument.
 * Returns the values (repeatable flags default to `[]`) and the index of that argument, or undefined
 * when an argument is not one of `specs` or a value is missing.
 */
export function parseLeadingFlags(specs: readonly FlagSpec[], args: readonly string[]): { values: Values; next: number } | undefined {
  const values: Values = {};
  for (const f of specs) if (f.repeatable) values[flagKey(f)] = [];
  const set = (f: FlagSpec, v: string | true) => {
    const k = flagKey(f);
    if (f.repeatable) (values[k] as string[]).push(v as string);
    else values[k] = v;
  };
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') return { values, next: i + 1 };
    if (!a.startsWith('-') || a === '-') break;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const f = specs.find((s) => s.long === (eq < 0 ? a.slice(2) : a.slice(2, eq)));
      if (!f || (eq >= 0 && !f.value)) return undefined;
      if (!f.value) set(f, true);
      else if (eq >= 0) set(f, a.slice(eq + 1));
      else if (i + 1 < args.length) set(f, args[++i]!);
      else return undefined;
      continue;
    }
    for (let j = 1; j < a.length; j++) {
      const f = specs.find((s) => s.short === a[j]);
      if (!f) return undefined;
      if (!f.value) {
        set(f, true);
        continue;
      }
      if (j + 1 < a.length) set(f, a.slice(j + 1));
      else if (i + 1 < args.length) set(f, args[++i]!);
      else return undefined;
      break;
    }
  }
  return { values, next: i };
}

/** The global flags' values, as the program's options hold them. */
export interface GlobalValues {
  stateDir?: string;
  pluginsDir?: string;
  pluginTimeout?: string;
}

/** `run`'s flag values (with `--detach`, which is not part of the request). */
export type RunFlags = Omit<RunRequest, 'image' | 'command'> & { detach?: boolean };

/** A command the fast path understood. */
export type FastCommand =
  | { globals: GlobalValues; name: 'run'; image: string; command: string[]; flags: RunFlags }
  | { globals: GlobalValues; name: '__supervise'; id: string; parentPid: string; parentStart: string };

/** `argv` without node and the script, as {@link FastCommand}; undefined means: let commander do it. */
export function parseFastPath(argv: readonly string[]): FastCommand | undefined {
  const g = parseLeadingFlags(Object.values(GLOBAL_FLAGS), argv);
  if (!g) return undefined;
  const globals = g.values as GlobalValues;
  const [name, ...rest] = argv.slice(g.next);
  if (name === '__supervise') {
    const [id, parentPid, parentStart, ...extra] = rest;
    if (id === undefined || parentPid === undefined || parentStart === undefined || extra.length > 0) return undefined;
    return { globals, name, id, parentPid, parentStart };
  }
  if (name !== 'run') return undefined;
  const r = parseLeadingFlags(RUN_FLAGS, rest);
  const image = r ? rest[r.next] : undefined;
  if (!r || image === undefined) return undefined;
  return { globals, name, image, command: rest.slice(r.next + 1), flags: r.values as unknown as RunFlags };
}
