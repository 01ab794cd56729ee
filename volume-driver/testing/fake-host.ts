/**
 * @module A recording fake of {@link VolumeHost} for unit tests: it keeps mounts and loop devices in
 * memory, logs every mutating call as one line, and can be told to fail a step, report a reboot or
 * declare a process gone. No root, no kernel.
 */
import type { FsSpace, LoopDevice, RootAttributes, TmpfsOptions, VolumeHost } from '../host.js';
import { isUnder } from '../../common/kernel/mount-info.js';

/** The fake's own state, open to tests. */
export interface FakeHost extends VolumeHost {
  /** One line per mutating call, e.g. `mountTmpfs /r/v/_data size=1024`. */
  calls: string[];
  /** Mount point → what is mounted there (`tmpfs` or the image path). */
  mounts: Map<string, string>;
  loops: LoopDevice[];
  /** What {@link VolumeHost.bootId} answers; change it to simulate a reboot. */
  boot: string;
  /** Processes {@link VolumeHost.processAlive} reports as gone. */
  deadPids: Set<number>;
  /** Bytes {@link VolumeHost.diskUsage} reports per path (0 when unset). */
  usage: Map<string, number>;
  /** Name of a VolumeHost method that throws on its next call. */
  failOn?: keyof VolumeHost;
}

const describe = (o: object) =>
  Object.entries(o)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'number' && k === 'mode' ? v.toString(8) : String(v)}`)
    .join(',');

/** A fresh {@link FakeHost} with nothing mounted and boot ID `boot-1`. */
export function createFakeHost(): FakeHost {
  let nextLoop = 0;
  const fake: FakeHost = {
    calls: [],
    mounts: new Map(),
    loops: [],
    boot: 'boot-1',
    deadPids: new Set(),
    usage: new Map(),
    bootId: async () => fake.boot,
    processAlive: (pid) => !fake.deadPids.has(pid),
    async mountTmpfs(target: string, opts: TmpfsOptions) {
      step('mountTmpfs', `${target} ${describe(opts)}`);
      if (!fake.mounts.has(target)) fake.mounts.set(target, 'tmpfs');
    },
    async makeImage(image: string, sizeBytes: number) {
      step('makeImage', `${image} ${sizeBytes}`);
    },
    async mountImage(image: string, target: string) {
      step('mountImage', `${image} ${target}`);
      if (fake.mounts.has(target)) return;
      if (!fake.loops.some((l) => l.backingFile === image)) fake.loops.push({ device: `/dev/loop${nextLoop++}`, backingFile: image, deleted: false });
      fake.mounts.set(target, image);
    },
    async unmountImage(image: string, target: string) {
      step('unmountImage', `${image} ${target}`);
      fake.mounts.delete(target);
      fake.loops = fake.loops.filter((l) => l.backingFile !== image);
    },
    async bind(src: string, dst: string) {
      step('bind', `${src} ${dst}`);
      if (!fake.mounts.has(dst)) fake.mounts.set(dst, `bind ${src}`);
    },
    async unmount(target: string) {
      step('unmount', target);
      fake.mounts.delete(target);
    },
    isMountpoint: async (path: string) => fake.mounts.has(path),
    mountsUnder: async (prefix: string) => [...fake.mounts.keys()].filter((m) => isUnder(m, prefix)).sort((a, b) => b.length - a.length),
    loopsUnder: async (prefix: string) => fake.loops.filter((l) => isUnder(l.backingFile, prefix)),
    async detachLoops(devices: readonly LoopDevice[]) {
      step('detachLoops', devices.map((d) => d.device).join(','));
      fake.loops = fake.loops.filter((l) => !devices.some((d) => d.device === l.device));
    },
    async setRoot(path: string, attrs: RootAttributes) {
      step('setRoot', `${path} ${describe(attrs)}`);
    },
    async copyTree(src: string, dst: string) {
      step('copyTree', `${src} ${dst}`);
    },
    async copyImage(src: string, dst: string, method = 'auto') {
      step('copyImage', `${src} ${dst} ${method}`);
      return 'sparse copy' as const;
    },
    async frozen<T>(mountpoint: string, fn: () => Promise<T>) {
      step('frozen', mountpoint);
      return fn();
    },
    async thaw(mountpoint: string) {
      step('thaw', mountpoint);
    },
    diskUsage: async (path: string) => fake.usage.get(path) ?? 0,
    space: async (path: string): Promise<FsSpace> => {
      const used = fake.usage.get(path) ?? 0;
      return { total: 1 << 20, used, available: (1 << 20) - used };
    },
  };
  function step(method: keyof VolumeHost, line: string): void {
    if (fake.failOn === method) {
      fake.failOn = undefined;
      throw new Error(`${method} failed (fake)`);
    }
    fake.calls.push(`${method} ${line}`);
  }
  return fake;
}
