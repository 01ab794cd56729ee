/**
 * @module The mount table of a container, as runc builds it for docker's default spec: /proc, a
 * small /dev with the usual nodes, devpts, shm and mqueue, a read-only /sys, the /etc files, the
 * user's mounts (parents before children), then the masked and read-only /proc paths. Pure: the
 * init helper carries it out inside the container's mount namespace.
 */
import type { RootfsStep } from '../../common/kernel/container-process.js';

/** Host files bound over the image's /etc files. */
export interface EtcFiles {
  hosts: string;
  hostname: string;
  resolv: string;
}

/** A mount as the plan needs it: `source` is a host path (bind, volume mountpoint) or empty (tmpfs). */
export interface PlannedMount {
  kind: 'bind' | 'tmpfs';
  source: string;
  destination: string;
  readonly: boolean;
  tmpfsOptions?: string;
}

/**
 * Device nodes, bound from the host's /dev. The root and /dev are mounted `nodev`, so a node a
 * container makes with mknod cannot be opened: this stands in for the device cgroup with which
 * docker refuses every other device (e.g. the host's disks).
 */
const DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];

const LINKS: [string, string][] = [
  ['/proc/self/fd', '/dev/fd'],
  ['/proc/self/fd/0', '/dev/stdin'],
  ['/proc/self/fd/1', '/dev/stdout'],
  ['/proc/self/fd/2', '/dev/stderr'],
  ['pts/ptmx', '/dev/ptmx'],
];

/** moby's default masked paths (oci/defaults.go). */
const MASKED = [
  '/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware',
];
const READONLY = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

const depth = (p: string) => p.split('/').filter(Boolean).length;

/** The steps that build the root filesystem after `/` is mounted. */
export function rootfsSteps(opts: { privileged: boolean; readonlyRoot?: boolean; etc: EtcFiles; mounts: readonly PlannedMount[] }): RootfsStep[] {
  const steps: RootfsStep[] = [
    { op: 'mount', source: 'proc', fstype: 'proc', target: '/proc', flags: ['nosuid', 'noexec', 'nodev'] },
    { op: 'mount', source: 'tmpfs', fstype: 'tmpfs', target: '/dev', flags: ['nosuid', 'nodev'], data: 'mode=755,size=65536k' },
    ...DEVICES.map((name): RootfsStep => ({ op: 'bind', source: `/dev/${name}`, target: `/dev/${name}` })),
    ...LINKS.map(([target, path]): RootfsStep => ({ op: 'symlink', target, path })),
    { op: 'mount', source: 'devpts', fstype: 'devpts', target: '/dev/pts', flags: ['nosuid', 'noexec'], data: 'newinstance,ptmxmode=0666,mode=0620,gid=5' },
    { op: 'mount', source: 'shm', fstype: 'tmpfs', target: '/dev/shm', flags: ['nosuid', 'nodev', 'noexec'], data: 'mode=1777,size=65536k' },
    { op: 'mount', source: 'mqueue', fstype: 'mqueue', target: '/dev/mqueue', flags: ['nosuid', 'nodev', 'noexec'] },
    { op: 'mount', source: 'sysfs', fstype: 'sysfs', target: '/sys', flags: [...(opts.privileged ? [] : ['ro' as const]), 'nosuid', 'nodev', 'noexec'] },
    { op: 'bind', source: opts.etc.resolv, target: '/etc/resolv.conf' },
    { op: 'bind', source: opts.etc.hostname, target: '/etc/hostname' },
    { op: 'bind', source: opts.etc.hosts, target: '/etc/hosts' },
  ];
  const ordered = [...opts.mounts].sort((a, b) => depth(a.destination) - depth(b.destination));
  for (const m of ordered) {
    if (m.kind === 'tmpfs') {
      const data = ['mode=1777', m.tmpfsOptions].filter(Boolean).join(',');
      steps.push({ op: 'mount', source: 'tmpfs', fstype: 'tmpfs', target: m.destination, flags: [...(m.readonly ? ['ro' as const] : []), 'nosuid', 'nodev'], data });
    } else {
      steps.push({ op: 'bind', source: m.source, target: m.destination, readonly: m.readonly });
    }
  }
  if (!opts.privileged) {
    steps.push(...MASKED.map((path): RootfsStep => ({ op: 'mask', path })), ...READONLY.map((path): RootfsStep => ({ op: 'readonly', path })));
  }
  // `--read-only`: the root itself, last (its submounts keep their own flags), as runc does.
  if (opts.readonlyRoot) steps.push({ op: 'mount', source: 'none', fstype: 'none', target: '/', flags: ['remount', 'bind', 'ro'] });
  return steps;
}
