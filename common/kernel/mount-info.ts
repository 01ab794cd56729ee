/**
 * @module Parsing `/proc/self/mountinfo` (proc(5)) and building mount option strings. Pure: no I/O.
 */
import { KernelArgumentError } from './errors.js';

/** One line of mountinfo. Paths are decoded (`\040` → space). */
export interface MountInfo {
  id: number;
  parentId: number;
  /** `major:minor` of the filesystem's device. */
  device: string;
  /** Path inside the filesystem that is mounted here (not `/` for bind mounts of a subdirectory). */
  root: string;
  mountPoint: string;
  /** Per-mount options, e.g. `rw`, `nosuid`, `relatime`. */
  mountOptions: string[];
  /** Propagation fields such as `shared:1`, `master:2`. */
  optionalFields: string[];
  fstype: string;
  source: string;
  /** Per-superblock options, e.g. `size=1024k`, `lowerdir=…`, or a v1 cgroup's controllers. */
  superOptions: string[];
}

/** Decodes the octal escapes the kernel writes for space, tab, newline and backslash. */
export function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Parses the text of a mountinfo file; malformed lines are skipped. */
export function parseMountInfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const sep = fields.indexOf('-', 6);
    if (sep < 0 || fields.length < sep + 4) continue;
    const [id, parentId, device, root, mountPoint, mountOptions] = fields as [string, string, string, string, string, string];
    out.push({
      id: Number(id),
      parentId: Number(parentId),
      device,
      root: unescapeMountField(root),
      mountPoint: unescapeMountField(mountPoint),
      mountOptions: mountOptions.split(','),
      optionalFields: fields.slice(6, sep),
      fstype: fields[sep + 1] as string,
      source: unescapeMountField(fields[sep + 2] as string),
      superOptions: (fields[sep + 3] as string).split(',').map(unescapeMountField),
    });
  }
  return out;
}

/** Whether `path` is `prefix` or lies below it (by path components, so `/a/bc` is not under `/a/b`). */
export function isUnder(path: string, prefix: string): boolean {
  if (prefix === '/') return path.startsWith('/');
  const p = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  return path === p || path.startsWith(`${p}/`);
}

/**
 * The mounts of mountinfo `text` at or below `prefix` (absolute, resolved), in mount order. When the
 * text does not contain `prefix` as mountinfo writes it (space, tab, newline and backslash as octal
 * escapes), nothing is mounted there and the text is not parsed: the common answer, and the cheap one.
 */
export function mountsUnder(text: string, prefix: string): MountInfo[] {
  const trimmed = prefix.length > 1 && prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  const written = trimmed.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
  if (!text.includes(` ${written}`)) return [];
  return parseMountInfo(text).filter((m) => isUnder(m.mountPoint, prefix));
}

/** The mount that `path` (an absolute, resolved path) lives on: the last-mounted longest prefix. */
export function mountContaining(mounts: readonly MountInfo[], path: string): MountInfo | undefined {
  let best: MountInfo | undefined;
  for (const m of mounts) {
    if (isUnder(path, m.mountPoint) && (!best || m.mountPoint.length >= best.mountPoint.length)) best = m;
  }
  return best;
}

/** The mounts stacked on exactly `path`, topmost (the one visible) last, as mountinfo lists them. */
export function mountsAt(mounts: readonly MountInfo[], path: string): MountInfo[] {
  return mounts.filter((m) => m.mountPoint === path);
}

/** Options of a tmpfs mount; `size` is bytes or a tmpfs size string such as `64m` or `10%`. */
export interface TmpfsOptions {
  size?: number | string;
  /** Mode of the root directory, e.g. `0o1777`, or an octal string such as `'755'`. */
  mode?: number | string;
  uid?: number;
  gid?: number;
  nrInodes?: number;
  noexec?: boolean;
  /** Source name shown in mountinfo (default `tmpfs`); a recognisable one helps find leaks. */
  source?: string;
}

function nonNegativeInt(option: string, n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new KernelArgumentError(option, `must be a non-negative integer, got ${n}`);
  return String(n);
}

/** The `-o` options of a tmpfs mount; always `nosuid,nodev`. Throws {@link KernelArgumentError} on bad values. */
export function tmpfsOptions(opts: TmpfsOptions): string[] {
  const out = ['nosuid', 'nodev'];
  if (opts.noexec) out.push('noexec');
  if (opts.size !== undefined) {
    const size = typeof opts.size === 'number' ? nonNegativeInt('size', opts.size) : opts.size;
    if (!/^[0-9]+[kmgtpeKMGTPE%]?$/.test(size)) throw new KernelArgumentError('size', `"${size}" is not bytes or a size like 64m or 10%`);
    out.push(`size=${size}`);
  }
  if (opts.mode !== undefined) {
    const mode = typeof opts.mode === 'number' ? opts.mode.toString(8) : opts.mode;
    if (!/^[0-7]{1,4}$/.test(mode)) throw new KernelArgumentError('mode', `"${mode}" is not an octal mode such as 1777`);
    out.push(`mode=${mode}`);
  }
  if (opts.uid !== undefined) out.push(`uid=${nonNegativeInt('uid', opts.uid)}`);
  if (opts.gid !== undefined) out.push(`gid=${nonNegativeInt('gid', opts.gid)}`);
  if (opts.nrInodes !== undefined) out.push(`nr_inodes=${nonNegativeInt('nrInodes', opts.nrInodes)}`);
  return out;
}

/** Paths the overlay option string cannot carry (mount(8) splits on `,`; overlayfs on `:`). */
function checkOverlayPath(option: string, path: string): void {
  if (!path.startsWith('/')) throw new KernelArgumentError(option, `"${path}" must be an absolute path`);
  if (/[,:\\\n]/.test(path)) throw new KernelArgumentError(option, `"${path}" contains ",", ":", "\\" or a line break, which overlay options cannot carry`);
}

/** overlayfs stacks at most this many lower directories (OVL_MAX_STACK). */
export const OVERLAY_MAX_LOWER = 500;

/** mount(2) copies at most one page of options, NUL included (4096 bytes on x86_64 and most arm64). */
export const MOUNT_OPTIONS_MAX = 4095;

/**
 * The options of an overlay mount: `lowerdir=a:b,upperdir=…,workdir=…`. Throws {@link KernelArgumentError},
 * also when the lower directories are more than overlayfs stacks or the options longer than mount(2) takes.
 */
export function overlayOptions(lower: readonly string[], upper: string, work: string): string[] {
  if (lower.length === 0) throw new KernelArgumentError('lower', 'needs at least one directory');
  if (lower.length > OVERLAY_MAX_LOWER) throw new KernelArgumentError('lower', `${lower.length} directories, overlayfs stacks at most ${OVERLAY_MAX_LOWER}`);
  lower.forEach((l) => checkOverlayPath('lower', l));
  checkOverlayPath('upper', upper);
  checkOverlayPath('work', work);
  const options = [`lowerdir=${lower.join(':')}`, `upperdir=${upper}`, `workdir=${work}`];
  const length = Buffer.byteLength(options.join(','));
  if (length > MOUNT_OPTIONS_MAX) {
    throw new KernelArgumentError('lower', `${lower.length} directories make ${length} bytes of overlay options, mount(2) takes at most ${MOUNT_OPTIONS_MAX}`);
  }
  return options;
}
