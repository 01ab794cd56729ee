/**
 * @module Everything the volume driver does to the host besides plain directory bookkeeping: mounts,
 * loop images, ownership, copies, usage. The driver only sees the {@link VolumeHost} interface, so
 * its unit tests run against a recording fake; {@link createHost} is the real one, built on
 * common/kernel (mount.ts, loop.ts, exec.ts).
 */
import { chmod, chown, readFile, statfs } from 'node:fs/promises';
import { run } from '../common/kernel/exec.js';
import { copyImageFile, thaw, withFrozen, type CopyMethod } from '../common/kernel/fs-snapshot.js';
import { attachLoop, detachDevices, detachLoop, ensureLoopFs, listLoops, type LoopDevice } from '../common/kernel/loop.js';
import { bindMount, ensureMount, isMountpoint, listMounts, mountTmpfs, unmount, type TmpfsOptions } from '../common/kernel/mount.js';
import { isUnder } from '../common/kernel/mount-info.js';

export type { LoopDevice } from '../common/kernel/loop.js';
export type { TmpfsOptions } from '../common/kernel/mount.js';
export type { CopyMethod } from '../common/kernel/fs-snapshot.js';

/** Owner and mode for the root directory of a volume; unset fields are left alone. */
export interface RootAttributes {
  uid?: number;
  gid?: number;
  mode?: number;
}

/** Space of the filesystem holding a path, in bytes (statfs). */
export interface FsSpace {
  total: number;
  used: number;
  available: number;
}

/** The host operations of the volume driver. Every mutating verb is idempotent. */
export interface VolumeHost {
  /** The kernel's boot ID: a new value means the host rebooted. */
  bootId(): Promise<string>;
  /** Whether process `pid` exists. */
  processAlive(pid: number): boolean;
  /** Mounts a tmpfs (always nosuid,nodev) on `target` unless one is there. */
  mountTmpfs(target: string, opts: TmpfsOptions): Promise<void>;
  /** Makes `image` a sparse ext4 image of `sizeBytes` unless it is one already. */
  makeImage(image: string, sizeBytes: number): Promise<void>;
  /** Attaches `image` to a loop device and mounts it (ext4, nosuid,nodev,discard) on `target`, unless done. */
  mountImage(image: string, target: string): Promise<void>;
  /** Unmounts `target` and detaches the loop devices of `image`. */
  unmountImage(image: string, target: string): Promise<void>;
  /** Bind-mounts `src` on `dst` (a directory, made if missing) unless it is bound there already. */
  bind(src: string, dst: string): Promise<void>;
  /** Unmounts everything at `target`, lazily (containers keep their own bind mounts). */
  unmount(target: string): Promise<void>;
  isMountpoint(path: string): Promise<boolean>;
  /**
   * Mount points at or below `prefix`, deepest first. `prefix` is absolute and free of symlinks (the
   * volumes root and mount dir are resolved at start; a volume's directory is a plain name below one),
   * so it is compared with mountinfo as it is, without a `realpath` first.
   */
  mountsUnder(prefix: string): Promise<string[]>;
  /** Loop devices whose backing file is at or below `prefix`. */
  loopsUnder(prefix: string): Promise<LoopDevice[]>;
  detachLoops(devices: readonly LoopDevice[]): Promise<void>;
  /** Sets owner and mode of `path` itself. */
  setRoot(path: string, attrs: RootAttributes): Promise<void>;
  /** Copies the content of `src` into `dst`, keeping owners, modes, times, links and xattrs. */
  copyTree(src: string, dst: string): Promise<void>;
  /**
   * Copies an image file whole (replacing `dst`, never leaving it half written): a reflink where the
   * filesystem can, else a sparse copy; `copy` forces the latter.
   */
  copyImage(src: string, dst: string, method?: 'auto' | 'copy'): Promise<CopyMethod>;
  /** Runs `fn` with the filesystem mounted at `mountpoint` frozen (writes wait), then thaws it. */
  frozen<T>(mountpoint: string, fn: () => Promise<T>): Promise<T>;
  /** Thaws the filesystem at `mountpoint` if frozen. */
  thaw(mountpoint: string): Promise<void>;
  /** Bytes allocated below `path` (like `du -s`), not crossing into other filesystems. */
  diskUsage(path: string): Promise<number>;
  /** statfs of the filesystem holding `path`. */
  space(path: string): Promise<FsSpace>;
}

/** The real {@link VolumeHost}. */
export function createHost(): VolumeHost {
  return {
    bootId: async () => (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim(),
    processAlive(pid) {
      try {
        process.kill(pid, 0);
        return true;
      } catch (err) {
        return (err as NodeJS.ErrnoException).code === 'EPERM';
      }
    },
    mountTmpfs: async (target, opts) => void (await mountTmpfs(target, opts)),
    makeImage: async (image, sizeBytes) => void (await ensureLoopFs(image, sizeBytes)),
    async mountImage(image, target) {
      if (await isMountpoint(target)) return;
      const device = await attachLoop(image);
      await ensureMount({ source: device, target, fstype: 'ext4', options: ['nosuid', 'nodev', 'discard'] });
    },
    async unmountImage(image, target) {
      await unmount(target);
      await detachLoop(image);
    },
    bind: async (src, dst) => void (await bindMount(src, dst)),
    unmount: async (target) => void (await unmount(target, { lazy: true })),
    isMountpoint,
    async mountsUnder(prefix) {
      const points = [...new Set((await listMounts(prefix, { resolved: true })).map((m) => m.mountPoint))];
      return points.sort((a, b) => b.length - a.length);
    },
    loopsUnder: async (prefix) => (await listLoops()).filter((l) => isUnder(l.backingFile, prefix)),
    detachLoops: async (devices) => void (await detachDevices(devices)),
    async setRoot(path, { uid, gid, mode }) {
      if (uid !== undefined || gid !== undefined) await chown(path, uid ?? -1, gid ?? -1);
      if (mode !== undefined) await chmod(path, mode);
    },
    async copyTree(src, dst) {
      await run(['cp', '-a', '--reflink=auto', `${src}/.`, `${dst}/`], { object: `"${src}" to "${dst}"`, step: 'copy' });
    },
    copyImage: (src, dst, method) => copyImageFile(src, dst, method),
    frozen: withFrozen,
    thaw,
    async diskUsage(path) {
      const { stdout } = await run(['du', '-s', '-x', '-B1', path], { object: `"${path}"`, step: 'measure' });
      return Number(stdout.split('\t')[0]);
    },
    async space(path) {
      const s = await statfs(path);
      return { total: s.blocks * s.bsize, used: (s.blocks - s.bfree) * s.bsize, available: s.bavail * s.bsize };
    },
  };
}
