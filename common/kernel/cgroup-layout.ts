/**
 * @module Which cgroup hierarchy serves which controller on this host (v1, v2 unified, or a hybrid
 * of both), and the control files each limit becomes in either version. Pure apart from
 * {@link readCgroupLayout}, which reads mountinfo and the v2 `cgroup.controllers` file once.
 */
import { readFile } from 'node:fs/promises';
import { KernelArgumentError, KernelError } from './errors.js';
import { parseMountInfo, type MountInfo } from './mount-info.js';

/**
 * The controllers the suite limits. `devices` (the device access list) exists in v1 only: v2
 * controls devices with eBPF programs instead, which the suite does not load.
 */
export type CgroupController = 'memory' | 'cpu' | 'pids' | 'devices';

/** The managed controllers, in the order their limits are written. */
export const MANAGED_CONTROLLERS: readonly CgroupController[] = ['memory', 'cpu', 'pids', 'devices'];

/** One mounted hierarchy: a v1 hierarchy with its controllers, or the v2 unified one with those it may enable. */
export interface CgroupHierarchy {
  version: 1 | 2;
  mountPoint: string;
  controllers: string[];
}

/** The host's cgroup layout, as {@link layoutFromMounts} finds it. */
export interface CgroupLayout {
  /** `hybrid`: v1 controllers plus a v2 mount (systemd's hybrid mode, or Docker hosts like this one). */
  mode: 'v1' | 'v2' | 'hybrid' | 'none';
  hierarchies: CgroupHierarchy[];
  /** The hierarchy each managed controller is used from (v1 first, since a v1-bound controller cannot be enabled in v2). */
  serving: Partial<Record<CgroupController, CgroupHierarchy>>;
}

const V1_CONTROLLERS = new Set([
  'cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'net_cls', 'blkio',
  'perf_event', 'net_prio', 'hugetlb', 'pids', 'rdma', 'misc',
]);

/** Works out the layout from mountinfo and the v2 root's `cgroup.controllers` list. Pure. */
export function layoutFromMounts(mounts: readonly MountInfo[], v2Controllers: readonly string[]): CgroupLayout {
  const hierarchies: CgroupHierarchy[] = [];
  const seen = new Set<string>();
  for (const m of mounts) {
    if (m.fstype === 'cgroup') {
      const controllers = m.superOptions.filter((o) => V1_CONTROLLERS.has(o));
      const key = `1:${controllers.join(',')}`;
      // Named hierarchies (name=systemd) have no controllers; a second mount of one hierarchy adds nothing.
      if (controllers.length === 0 || seen.has(key)) continue;
      seen.add(key);
      hierarchies.push({ version: 1, mountPoint: m.mountPoint, controllers });
    } else if (m.fstype === 'cgroup2' && !seen.has('2')) {
      seen.add('2');
      hierarchies.push({ version: 2, mountPoint: m.mountPoint, controllers: [...v2Controllers] });
    }
  }
  const hasV1 = hierarchies.some((h) => h.version === 1);
  const hasV2 = seen.has('2');
  const mode = hasV1 && hasV2 ? 'hybrid' : hasV1 ? 'v1' : hasV2 ? 'v2' : 'none';
  const serving: CgroupLayout['serving'] = {};
  for (const c of MANAGED_CONTROLLERS) {
    const h = hierarchies.find((x) => x.version === 1 && x.controllers.includes(c)) ?? hierarchies.find((x) => x.version === 2 && c !== 'devices' && x.controllers.includes(c));
    if (h) serving[c] = h;
  }
  return { mode, hierarchies, serving };
}

/** The distinct hierarchies that serve at least one managed controller: where a group is created. */
export function usedHierarchies(layout: CgroupLayout): CgroupHierarchy[] {
  return [...new Set(Object.values(layout.serving))];
}

/** Reads this host's layout from `/proc/self/mountinfo`. */
export async function readCgroupLayout(): Promise<CgroupLayout> {
  const mounts = parseMountInfo(await readFile('/proc/self/mountinfo', 'utf8'));
  const v2 = mounts.find((m) => m.fstype === 'cgroup2');
  let controllers: string[] = [];
  if (v2) {
    try {
      controllers = (await readFile(`${v2.mountPoint}/cgroup.controllers`, 'utf8')).trim().split(/\s+/).filter(Boolean);
    } catch (err) {
      throw new KernelError(`cgroup2 mount "${v2.mountPoint}"`, 'read controllers of', String(err), { cause: err });
    }
  }
  return layoutFromMounts(mounts, controllers);
}

/** Limits of a group; an omitted limit means unlimited. */
export interface CgroupLimits {
  /** Memory limit in bytes; swap is limited to none beside it. */
  memoryBytes?: number;
  /** CPU time as a fraction of CPUs, e.g. `0.5` or `2`. */
  cpus?: number;
  /** Largest number of processes and threads. */
  pidsMax?: number;
  /**
   * The devices the group may use, as v1 `devices.allow` rules (`c 1:3 rwm`, `b *:* m`); every
   * other device is refused (`devices.deny` of `a` first). Omitted: whatever the parent allows.
   */
  devices?: string[];
}

const DEVICE_RULE_RE = /^[abc] (\*|\d+):(\*|\d+) [rwm]{1,3}$/;

/** CFS period used for `cpus` (100 ms, the kernel's and Docker's default). */
export const CPU_PERIOD_US = 100_000;

/** Throws {@link KernelArgumentError} unless every given limit is in range. */
export function validateLimits(limits: CgroupLimits): void {
  const { memoryBytes, cpus, pidsMax } = limits;
  if (memoryBytes !== undefined && (!Number.isSafeInteger(memoryBytes) || memoryBytes < 1024 * 1024)) {
    throw new KernelArgumentError('memoryBytes', `must be a whole number of bytes, at least 1 MiB; got ${memoryBytes}`);
  }
  if (cpus !== undefined && (!Number.isFinite(cpus) || cpus < 0.01 || cpus > 4096)) {
    throw new KernelArgumentError('cpus', `must be between 0.01 and 4096; got ${cpus}`);
  }
  if (pidsMax !== undefined && (!Number.isSafeInteger(pidsMax) || pidsMax < 1)) {
    throw new KernelArgumentError('pidsMax', `must be a positive whole number; got ${pidsMax}`);
  }
  for (const rule of limits.devices ?? []) {
    if (!DEVICE_RULE_RE.test(rule)) throw new KernelArgumentError('devices', `"${rule}" is not a device rule like "c 1:3 rwm" (type a, b or c; major:minor or *; access r, w, m)`);
  }
}

/** One write to a control file; `optional` files are skipped where the kernel lacks them (e.g. no swap accounting). */
export interface ControlWrite {
  file: string;
  value: string;
  optional?: boolean;
}

/**
 * The control-file writes that set `controller`'s limit in a hierarchy of `version`, in order.
 * In v1, memsw must stay ≥ the memory limit at every step, so it is opened up first.
 */
export function limitWrites(version: 1 | 2, controller: CgroupController, limits: CgroupLimits): ControlWrite[] {
  const quota = limits.cpus === undefined ? undefined : Math.max(1000, Math.round(limits.cpus * CPU_PERIOD_US));
  const mem = limits.memoryBytes;
  if (version === 1) {
    switch (controller) {
      case 'memory':
        return [
          { file: 'memory.memsw.limit_in_bytes', value: '-1', optional: true },
          { file: 'memory.limit_in_bytes', value: String(mem ?? -1) },
          { file: 'memory.memsw.limit_in_bytes', value: String(mem ?? -1), optional: true },
        ];
      case 'cpu':
        return [
          { file: 'cpu.cfs_period_us', value: String(CPU_PERIOD_US) },
          { file: 'cpu.cfs_quota_us', value: String(quota ?? -1) },
        ];
      case 'pids':
        return [{ file: 'pids.max', value: String(limits.pidsMax ?? 'max') }];
      case 'devices':
        if (limits.devices === undefined) return [];
        return [{ file: 'devices.deny', value: 'a' }, ...limits.devices.map((value) => ({ file: 'devices.allow', value }))];
    }
  }
  switch (controller) {
    case 'memory':
      return [
        { file: 'memory.max', value: String(mem ?? 'max') },
        { file: 'memory.swap.max', value: mem === undefined ? 'max' : '0', optional: true },
      ];
    case 'cpu':
      return [{ file: 'cpu.max', value: `${quota ?? 'max'} ${CPU_PERIOD_US}` }];
    case 'pids':
      return [{ file: 'pids.max', value: String(limits.pidsMax ?? 'max') }];
    case 'devices':
      return []; // never served from v2 (see CgroupController)
  }
}

/** Files that hold the limits back, per version, for {@link parseLimits}. */
export const LIMIT_FILES = {
  1: { memory: ['memory.limit_in_bytes'], cpu: ['cpu.cfs_quota_us', 'cpu.cfs_period_us'], pids: ['pids.max'], devices: ['devices.list'] },
  2: { memory: ['memory.max'], cpu: ['cpu.max'], pids: ['pids.max'], devices: [] },
} as const;

// v1 shows "no limit" as LONG_MAX rounded down to a page; anything this large is unlimited.
const V1_UNLIMITED = 2 ** 62;

/** Turns the contents of {@link LIMIT_FILES} back into limits (undefined = unlimited). Pure. */
export function parseLimits(version: 1 | 2, controller: CgroupController, contents: readonly string[]): CgroupLimits {
  const [a = '', b = ''] = contents.map((c) => c.trim());
  if (controller === 'devices') return a === '' || a === 'a *:* rwm' ? {} : { devices: a.split('\n') };
  if (controller === 'pids') return a === 'max' ? {} : { pidsMax: Number(a) };
  if (controller === 'memory') {
    if (a === 'max' || a === '-1' || Number(a) >= V1_UNLIMITED) return {};
    return { memoryBytes: Number(a) };
  }
  const [quota, period] = version === 1 ? [a, b] : a.split(' ');
  if (quota === undefined || quota === 'max' || quota === '-1') return {};
  return { cpus: Number(quota) / Number(period ?? CPU_PERIOD_US) };
}
