/**
 * @module Loop devices over sparse image files, for size-limited volumes on any host filesystem:
 * a sparse file, an ext4 filesystem in it, and a loop device backing it. Runs `mkfs.ext4`,
 * `dumpe2fs`, `resize2fs` (e2fsprogs) and `losetup` (util-linux) through {@link run}. Every verb is idempotent; nothing here
 * mounts (see mount.ts).
 */
import { open, stat, truncate } from 'node:fs/promises';
import { KernelError } from './errors.js';
import { CommandError, run } from './exec.js';

/** A loop device and the file behind it (without the kernel's ` (deleted)` suffix). */
export interface LoopDevice {
  device: string;
  backingFile: string;
  /** The backing file was deleted while the device was attached. */
  deleted: boolean;
}

const DELETED = ' (deleted)';
/** ext2/3/4 superblock magic, little-endian at byte 1024 + 0x38. */
const EXT_MAGIC = 0xef53;
const EXT_MAGIC_OFFSET = 1024 + 0x38;

/**
 * Creates `path` as a sparse file of `sizeBytes` (mode 0600) if it does not exist. An existing file
 * is kept as it is, whatever its size.
 * @returns whether it created the file.
 * @throws KernelError when the file cannot be created.
 */
export async function createSparseFile(path: string, sizeBytes: number): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new KernelError(`image "${path}"`, 'create', (err as Error).message, { cause: err });
  }
  try {
    await handle.truncate(sizeBytes);
  } catch (err) {
    throw new KernelError(`image "${path}"`, 'size', (err as Error).message, { cause: err });
  } finally {
    await handle.close();
  }
  return true;
}

/** Whether `image` starts with an ext2/3/4 superblock. A missing or short file has none. */
export async function hasExtFilesystem(image: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(image, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  try {
    const buf = Buffer.alloc(2);
    const { bytesRead } = await handle.read(buf, 0, 2, EXT_MAGIC_OFFSET);
    return bytesRead === 2 && buf.readUInt16LE(0) === EXT_MAGIC;
  } finally {
    await handle.close();
  }
}

/**
 * Bytes an ext4 image offers to files, as statfs reports them once it is mounted: free blocks minus
 * what the kernel holds back for delayed allocation (2 % of the blocks, at most 4096). Read-only.
 * @throws CommandError when dumpe2fs fails; KernelError when its output lacks the fields.
 */
export async function ext4UsableBytes(image: string): Promise<number> {
  const { stdout } = await run(['dumpe2fs', '-h', image], { object: `image "${image}"`, step: 'read the superblock of' });
  const field = (name: string) => {
    const m = new RegExp(`^${name}:\\s+(\\d+)$`, 'm').exec(stdout);
    if (!m) throw new KernelError(`image "${image}"`, 'read the superblock of', `dumpe2fs printed no "${name}"`);
    return Number(m[1]);
  };
  const blocks = field('Block count');
  const held = Math.min(Math.floor(blocks / 50), 4096);
  return Math.max(0, field('Free blocks') - held) * field('Block size');
}

/**
 * Makes `image` a sparse file holding an ext4 filesystem with no reserved blocks, in which files can
 * use `sizeBytes`, give or take 0.2 %, and never more: the image starts at `sizeBytes` and grows
 * (resize2fs) by what the journal and tables take. Idempotent: an image that already holds an ext
 * filesystem is left alone.
 * @returns whether it made a new filesystem.
 * @throws KernelError / CommandError when the file, mkfs or resize2fs fails.
 */
export async function ensureLoopFs(image: string, sizeBytes: number): Promise<boolean> {
  await createSparseFile(image, sizeBytes);
  if (await hasExtFilesystem(image)) return false;
  const object = `image "${image}"`;
  await run(['mkfs.ext4', '-q', '-F', '-m', '0', image], { object, step: 'make ext4 filesystem on' });
  const tolerance = Math.max(64 * 1024, Math.floor(sizeBytes / 500));
  // Each step adds exactly the shortfall; the new block groups' own tables keep it just below.
  for (let i = 0; i < 4; i++) {
    const shortfall = sizeBytes - (await ext4UsableBytes(image));
    if (shortfall < tolerance) break;
    await truncate(image, (await stat(image)).size + shortfall - (shortfall % 4096));
    await run(['resize2fs', image], { object, step: 'grow the ext4 filesystem in' });
  }
  return true;
}

function parseLosetupJson(stdout: string): LoopDevice[] {
  if (stdout.trim() === '') return [];
  const parsed = JSON.parse(stdout) as { loopdevices?: Array<{ name: string; 'back-file': string | null }> };
  return (parsed.loopdevices ?? []).map(({ name, 'back-file': back }) => {
    const file = back ?? '';
    const deleted = file.endsWith(DELETED);
    return { device: name, backingFile: deleted ? file.slice(0, -DELETED.length) : file, deleted };
  });
}

/**
 * Lists attached loop devices, all of them or only those backed by `image`. Read-only.
 * @throws CommandError when losetup fails.
 */
export async function listLoops(image?: string): Promise<LoopDevice[]> {
  const argv = ['losetup', '--list', '--json', '--output', 'NAME,BACK-FILE'];
  if (image !== undefined) argv.push('--associated', image);
  const { stdout } = await run(argv, { object: image === undefined ? 'loop devices' : `loop devices of "${image}"`, step: 'list' });
  return parseLosetupJson(stdout);
}

/**
 * Attaches `image` to a loop device, or finds the one it is already attached to.
 * @returns the device path, e.g. `/dev/loop3`.
 * @throws KernelError when the image is missing; CommandError when losetup fails.
 */
export async function attachLoop(image: string): Promise<string> {
  try {
    await stat(image);
  } catch (err) {
    throw new KernelError(`image "${image}"`, 'attach', 'the image file does not exist', { cause: err });
  }
  const existing = (await listLoops(image))[0];
  if (existing) return existing.device;
  const { stdout } = await run(['losetup', '--find', '--show', '--nooverlap', image], { object: `image "${image}"`, step: 'attach' });
  return stdout.trim();
}

/**
 * Detaches every loop device backed by `image` (by path, so it also finds the devices of a deleted
 * image; a mounted device is detached when it is unmounted). Idempotent: none attached is fine.
 * @returns how many devices it detached.
 * @throws CommandError when losetup fails.
 */
export async function detachLoop(image: string): Promise<number> {
  return detachDevices((await listLoops()).filter((l) => l.backingFile === image));
}

/** Detaches `devices`; "No such device" counts as done. */
export async function detachDevices(devices: readonly LoopDevice[]): Promise<number> {
  let n = 0;
  for (const { device, backingFile } of devices) {
    try {
      await run(['losetup', '--detach', device], { object: `loop device ${device} of "${backingFile}"`, step: 'detach' });
      n++;
    } catch (err) {
      if (!(err instanceof CommandError && /No such device/.test(err.stderr))) throw err;
    }
  }
  return n;
}
