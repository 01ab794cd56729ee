/**
 * @module Linux capabilities by name, docker's default set, and `--cap-add`/`--cap-drop`/
 * `--privileged` resolved to the numbers the init helper keeps. Pure.
 */
import { InvalidArgumentError } from '../errors.js';

/** capability(7) names in number order (CAP_CHOWN = 0 … CAP_CHECKPOINT_RESTORE = 40). */
const NAMES = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
  'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER',
  'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE',
  'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP',
  'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF',
  'CHECKPOINT_RESTORE',
];

/** What docker gives a container unless told otherwise (moby `caps.DefaultCapabilities`). */
const DEFAULT_CAPS = [
  'CHOWN', 'DAC_OVERRIDE', 'FSETID', 'FOWNER', 'MKNOD', 'NET_RAW', 'SETGID', 'SETUID', 'SETFCAP', 'SETPCAP',
  'NET_BIND_SERVICE', 'SYS_CHROOT', 'KILL', 'AUDIT_WRITE',
];

/** The names (without CAP_) of capability numbers, or of all of them. */
export function capabilityNames(caps: readonly number[] | 'all'): string[] {
  return caps === 'all' ? [...NAMES] : caps.map((c) => NAMES[c]!);
}

/** `net_admin`, `CAP_NET_ADMIN` → `NET_ADMIN`; `ALL` stays. @throws InvalidArgumentError */
function canonical(name: string): string {
  const n = name.toUpperCase().replace(/^CAP_/, '');
  if (n !== 'ALL' && !NAMES.includes(n)) throw new InvalidArgumentError(`unknown capability: "${name}"`);
  return n;
}

/**
 * The capability numbers a container keeps, or `all` (privileged, or `--cap-add ALL` without drops).
 * As in docker, `--cap-drop ALL` empties the set before the additions.
 * @throws InvalidArgumentError for unknown names.
 */
export function resolveCapabilities(opts: { privileged: boolean; add: readonly string[]; drop: readonly string[] }): number[] | 'all' {
  const add = opts.add.map(canonical);
  const drop = opts.drop.map(canonical);
  if (opts.privileged || (add.includes('ALL') && drop.length === 0)) return 'all';
  let set = new Set(add.includes('ALL') ? NAMES : DEFAULT_CAPS);
  if (drop.includes('ALL')) set = new Set();
  for (const d of drop) set.delete(d);
  for (const a of add) if (a !== 'ALL') set.add(a);
  return [...set].map((n) => NAMES.indexOf(n)).sort((a, b) => a - b);
}
