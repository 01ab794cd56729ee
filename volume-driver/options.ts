/**
 * @module `-o key=value` options of `docker volume create -d tsvol`: parsed once into a typed
 * {@link VolumeSpec}, refused with a message naming the option and the valid ones. Also accepts the
 * built-in `local` driver's tmpfs form (`device=tmpfs`, `o=size=64m,uid=1000`) so commands written for
 * Docker's driver keep working. Pure: no I/O.
 */
import { InvalidRequestError } from '../common/protocol/errors.js';
import { checkVolumeName } from './names.js';
import { parseSize, SIZE_FORMS } from './size.js';

/**
 * `-o type=`: a directory under the volumes root (optionally a size-limited ext4 image), a tmpfs, or
 * a host directory the user names (`dir`, implied by `path=`).
 */
export type VolumeType = 'local' | 'tmpfs' | 'dir';

/** What a volume is, as validated at Create and kept in its record. */
export interface VolumeSpec {
  type: VolumeType;
  /** Hard limit: tmpfs `size=`, or the size of the ext4 image of a local volume. */
  sizeBytes?: number;
  uid?: number;
  gid?: number;
  /** Mode bits of the volume's root directory. */
  mode?: number;
  /** tmpfs only: inode limit. */
  nrInodes?: number;
  /** tmpfs only: mount with `noexec`. */
  noexec?: boolean;
  /** local only: the volume whose content the new one starts with. */
  from?: string;
  /** local only: `VOLUME@SNAPSHOT` whose content (and size limit) the new one starts with. */
  fromSnapshot?: { volume: string; snapshot: string };
  /** dir only: the host directory as given (absolute). */
  path?: string;
  /** dir only: the directory `path` resolved to at Create (set by the driver, not an option). */
  realPath?: string;
  /** dir only: make `path` when missing (with uid, gid, mode). */
  create?: boolean;
  /** dir only: other volumes may use the same directory (they must say so too). */
  shared?: boolean;
}

/** Options each type accepts (besides `type`), in the order they are listed in messages. */
export const VALID_OPTIONS: Record<VolumeType, readonly string[]> = {
  local: ['size', 'uid', 'gid', 'mode', 'from', 'from-snapshot'],
  tmpfs: ['size', 'uid', 'gid', 'mode', 'nr_inodes', 'noexec', 'device', 'o'],
  dir: ['path', 'create', 'uid', 'gid', 'mode', 'shared'],
};

/** Smallest ext4 image accepted for a size-limited local volume. */
export const MIN_LOCAL_SIZE = 1024 * 1024;

const MAX_ID = 2 ** 32 - 2;
const TRUE = new Set(['', 'true', '1', 'yes']);
const FALSE = new Set(['false', '0', 'no']);
/** Flags in `o=` that tsvol always sets anyway. */
const IMPLIED_FLAGS = new Set(['nosuid', 'nodev']);

type Setter = (spec: VolumeSpec, value: string, fail: (expected: string) => never) => void;

function flag(value: string, fail: (expected: string) => never): boolean {
  const s = value.toLowerCase();
  if (!TRUE.has(s) && !FALSE.has(s)) fail('true or false (or no value)');
  return TRUE.has(s);
}

/** `VOLUME@SNAPSHOT` of `-o from-snapshot=`. */
export const SNAPSHOT_REF = /^([^@]+)@([^@]+)$/;

function integer(value: string, fail: (expected: string) => never, max: number, what: string): number {
  if (!/^\d+$/.test(value) || Number(value) > max) fail(what);
  return Number(value);
}

const SETTERS: Record<string, Setter> = {
  size: (spec, v, fail) => {
    const bytes = parseSize(v);
    if (bytes === undefined) return fail(SIZE_FORMS);
    const min = spec.type === 'local' ? MIN_LOCAL_SIZE : 1;
    if (bytes < min) fail(spec.type === 'local' ? 'at least 1m (the smallest ext4 image tsvol makes)' : 'more than 0 (tmpfs reads 0 as "no limit")');
    spec.sizeBytes = bytes;
  },
  uid: (spec, v, fail) => (spec.uid = integer(v, fail, MAX_ID, 'a numeric user ID such as 1000')),
  gid: (spec, v, fail) => (spec.gid = integer(v, fail, MAX_ID, 'a numeric group ID such as 1000')),
  mode: (spec, v, fail) => {
    if (!/^[0-7]{3,4}$/.test(v)) fail('an octal mode of 3 or 4 digits such as 755 or 1777');
    spec.mode = parseInt(v, 8);
  },
  nr_inodes: (spec, v, fail) => {
    spec.nrInodes = integer(v, fail, Number.MAX_SAFE_INTEGER, 'a positive number of inodes such as 10000');
    if (spec.nrInodes === 0) fail('a positive number of inodes (tmpfs reads 0 as "no limit")');
  },
  noexec: (spec, v, fail) => (spec.noexec = flag(v, fail)),
  create: (spec, v, fail) => (spec.create = flag(v, fail)),
  shared: (spec, v, fail) => (spec.shared = flag(v, fail)),
  path: (spec, v, fail) => {
    if (!v.startsWith('/') || v.includes('\0')) fail('an absolute path such as /srv/data (relative paths are refused)');
    spec.path = v;
  },
  'from-snapshot': (spec, v, fail) => {
    const m = SNAPSHOT_REF.exec(v);
    try {
      if (!m) throw new Error('no "@"');
      checkVolumeName(m[1]!);
      checkVolumeName(m[2]!);
    } catch (err) {
      fail(`VOLUME@SNAPSHOT naming a tsvol snapshot (${(err as Error).message})`);
    }
    spec.fromSnapshot = { volume: m![1]!, snapshot: m![2]! };
  },
  device: (_spec, v, fail) => {
    if (v !== 'tmpfs') fail('"tmpfs" (accepted for compatibility with the local driver)');
  },
  from: (spec, v, fail) => {
    try {
      checkVolumeName(v);
    } catch (err) {
      fail(`the name of an existing tsvol volume (${(err as Error).message})`);
    }
    spec.from = v;
  },
};

/**
 * Splits the local driver's `o=size=64m,uid=1000,noexec` into options. `nosuid`/`nodev` are
 * accepted (always set); anything else is refused by the caller as an unknown option.
 */
function splitMountOptions(o: string): Array<[string, string]> {
  return o
    .split(',')
    .filter((part) => part !== '' && !IMPLIED_FLAGS.has(part))
    .map((part) => {
      const eq = part.indexOf('=');
      return eq < 0 ? [part, ''] : [part.slice(0, eq), part.slice(eq + 1)];
    });
}

/**
 * Parses the `Opts` of a Create for volume `name` (already checked). `type` defaults to `local`.
 * @throws InvalidRequestError naming the first bad option, what was expected, and the valid options.
 */
export function parseVolumeOptions(name: string, opts: Record<string, string>): VolumeSpec {
  const type = opts.type ?? (opts.path !== undefined ? 'dir' : 'local');
  if (type !== 'local' && type !== 'tmpfs' && type !== 'dir') {
    throw new InvalidRequestError(`volume "${name}": type "${type}" is not supported; use type=local (the default), type=tmpfs or type=dir`);
  }
  const spec: VolumeSpec = { type };
  const valid = VALID_OPTIONS[type];
  const pairs: Array<[string, string, string]> = [];
  for (const [key, value] of Object.entries(opts)) {
    if (key === 'type') continue;
    if (key === 'o' && valid.includes('o')) pairs.push(...splitMountOptions(value).map(([k, v]): [string, string, string] => [k, v, `o=${value}`]));
    else pairs.push([key, value, key]);
  }
  const seen = new Map<string, string>();
  for (const [key, value, origin] of pairs) {
    if (!valid.includes(key) || key === 'o') {
      const other = (Object.keys(VALID_OPTIONS) as VolumeType[]).find((t) => t !== type && VALID_OPTIONS[t].includes(key));
      const why = other ? `applies only to type=${other}` : 'is unknown';
      const where = origin === key ? '' : ` (in ${origin})`;
      throw new InvalidRequestError(`volume "${name}": option "${key}"${where} ${why}; valid options for type=${type}: ${valid.join(', ')}`);
    }
    if (seen.has(key) && seen.get(key) !== value) {
      throw new InvalidRequestError(`volume "${name}": option "${key}" is given twice with different values ("${seen.get(key)}" and "${value}")`);
    }
    seen.set(key, value);
    SETTERS[key]!(spec, value, (expected) => {
      throw new InvalidRequestError(`volume "${name}": ${key} "${value}" is not valid: expected ${expected}`);
    });
  }
  if (type === 'dir' && spec.path === undefined) {
    throw new InvalidRequestError(`volume "${name}": type=dir needs -o path=/absolute/directory`);
  }
  if (spec.from !== undefined && spec.fromSnapshot !== undefined) {
    throw new InvalidRequestError(`volume "${name}": from and from-snapshot exclude each other; give one`);
  }
  return spec;
}

const SECRET_KEY = /pass|secret|token|key|cred|auth|private/i;
const URL_USERINFO = /(\w+:\/\/[^/@\s:]*:)[^/@\s]*@/g;

/**
 * A copy of `opts` safe to show in `docker volume inspect` and logs: values of secret-looking keys
 * become `<redacted>`, and a password inside a URL (`proto://user:pw@host`) is masked.
 */
export function redactOptions(opts: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(opts).map(([k, v]) => [k, SECRET_KEY.test(k) ? '<redacted>' : v.replace(URL_USERINFO, '$1<redacted>@')]),
  );
}
