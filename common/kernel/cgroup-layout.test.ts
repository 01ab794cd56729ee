import { describe, expect, it } from 'vitest';
import { KernelArgumentError } from './errors.js';
import { parseMountInfo } from './mount-info.js';
import { layoutFromMounts, limitWrites, parseLimits, usedHierarchies, validateLimits } from './cgroup-layout.js';

// The layout of the development VM: v1 controllers, a named systemd hierarchy, and a v2 mount with only hugetlb.
const HYBRID = parseMountInfo(
  [
    '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
    '32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct',
    '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
    '39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids',
    '40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd',
    '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
  ].join('\n'),
);
const V2 = parseMountInfo('30 23 0:27 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate');

describe('layoutFromMounts', () => {
  it('uses v1 controllers on a hybrid host and skips named and controller-less hierarchies', () => {
    const layout = layoutFromMounts(HYBRID, ['hugetlb']);
    expect(layout.mode).toBe('hybrid');
    expect(layout.serving.memory?.mountPoint).toBe('/sys/fs/cgroup/memory');
    expect(layout.serving.cpu?.mountPoint).toBe('/sys/fs/cgroup/cpu,cpuacct');
    expect(layout.serving.pids?.mountPoint).toBe('/sys/fs/cgroup/pids');
    expect(usedHierarchies(layout).map((h) => h.version)).toEqual([1, 1, 1]);
    expect(layout.serving.devices).toBeUndefined(); // not mounted here, and never taken from v2
  });

  it('serves the device list from a v1 devices hierarchy only', () => {
    const v1 = layoutFromMounts(parseMountInfo('42 31 0:39 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices'), []);
    expect(v1.serving.devices?.mountPoint).toBe('/sys/fs/cgroup/devices');
    expect(layoutFromMounts(V2, ['cpu', 'memory', 'pids', 'devices']).serving.devices).toBeUndefined();
  });

  it('uses the unified hierarchy when it has the controllers (pure v2)', () => {
    const layout = layoutFromMounts(V2, ['cpuset', 'cpu', 'io', 'memory', 'pids']);
    expect(layout.mode).toBe('v2');
    expect(usedHierarchies(layout)).toEqual([{ version: 2, mountPoint: '/sys/fs/cgroup', controllers: ['cpuset', 'cpu', 'io', 'memory', 'pids'] }]);
  });

  it('reports none without cgroup mounts', () => {
    expect(layoutFromMounts([], []).mode).toBe('none');
  });
});

describe('limits', () => {
  it('renders v1 writes with memsw opened before the memory limit', () => {
    expect(limitWrites(1, 'memory', { memoryBytes: 64 << 20 })).toEqual([
      { file: 'memory.memsw.limit_in_bytes', value: '-1', optional: true },
      { file: 'memory.limit_in_bytes', value: String(64 << 20) },
      { file: 'memory.memsw.limit_in_bytes', value: String(64 << 20), optional: true },
    ]);
    expect(limitWrites(1, 'cpu', { cpus: 0.5 }).map((w) => w.value)).toEqual(['100000', '50000']);
    expect(limitWrites(1, 'pids', {}).map((w) => w.value)).toEqual(['max']);
  });

  it('renders v2 writes, with no swap under a memory limit', () => {
    expect(limitWrites(2, 'memory', { memoryBytes: 1 << 20 }).map((w) => `${w.file}=${w.value}`)).toEqual(['memory.max=1048576', 'memory.swap.max=0']);
    expect(limitWrites(2, 'memory', {}).map((w) => w.value)).toEqual(['max', 'max']);
    expect(limitWrites(2, 'cpu', { cpus: 1.5 })).toEqual([{ file: 'cpu.max', value: '150000 100000' }]);
    expect(limitWrites(2, 'cpu', {})).toEqual([{ file: 'cpu.max', value: 'max 100000' }]);
  });

  it('parses limits back, treating the v1 page-rounded maximum as unlimited', () => {
    expect(parseLimits(1, 'memory', ['9223372036854771712\n'])).toEqual({});
    expect(parseLimits(1, 'memory', ['67108864\n'])).toEqual({ memoryBytes: 67108864 });
    expect(parseLimits(1, 'cpu', ['50000\n', '100000\n'])).toEqual({ cpus: 0.5 });
    expect(parseLimits(1, 'cpu', ['-1\n', '100000\n'])).toEqual({});
    expect(parseLimits(2, 'cpu', ['150000 100000\n'])).toEqual({ cpus: 1.5 });
    expect(parseLimits(2, 'pids', ['max\n'])).toEqual({});
    expect(parseLimits(2, 'pids', ['7\n'])).toEqual({ pidsMax: 7 });
    expect(parseLimits(1, 'devices', ['a *:* rwm\n'])).toEqual({});
    expect(parseLimits(1, 'devices', ['c 1:3 rwm\nb *:* m\n'])).toEqual({ devices: ['c 1:3 rwm', 'b *:* m'] });
  });

  it('renders a device list as deny-all, then the allowed rules (v1), and nothing without one', () => {
    expect(limitWrites(1, 'devices', { devices: ['c 1:3 rwm', 'b *:* m'] })).toEqual([
      { file: 'devices.deny', value: 'a' },
      { file: 'devices.allow', value: 'c 1:3 rwm' },
      { file: 'devices.allow', value: 'b *:* m' },
    ]);
    expect(limitWrites(1, 'devices', {})).toEqual([]);
  });

  it.each([[{ memoryBytes: 100 }], [{ memoryBytes: 1.5e6 + 0.5 }], [{ cpus: 0 }], [{ cpus: Number.NaN }], [{ pidsMax: 0 }], [{ devices: ['c 1:3'] }], [{ devices: ['x *:* rwm'] }], [{ devices: ['c 1:3 rwm\na'] }]])('rejects %j', (limits) => {
    expect(() => validateLimits(limits)).toThrow(KernelArgumentError);
  });
});
