/**
 * @module Volume names and where a volume lives on disk. dockerd does not check names for plugin
 * drivers (docs/plugin-protocol.md §4.2), so this applies Docker's own rule before a name is ever used in a
 * path, and then checks the joined path once more: no name can reach outside the volumes root.
 */
import { dirname, join, resolve } from 'node:path';
import { InvalidRequestError } from '../common/protocol/errors.js';
import { MAX_VOLUME_NAME_LENGTH, VOLUME_NAME_RULE } from '../common/protocol/fields.js';

/**
 * Throws {@link InvalidRequestError} unless `name` follows Docker's rule (`[a-zA-Z0-9][a-zA-Z0-9_.-]+`,
 * at most 255 characters), which also rules out `/`, `..` as a whole name, NUL and whitespace.
 */
export function checkVolumeName(name: string): void {
  const shown = JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name);
  if (name.length > MAX_VOLUME_NAME_LENGTH) {
    throw new InvalidRequestError(`volume name ${shown} is ${name.length} characters long; at most ${MAX_VOLUME_NAME_LENGTH} are allowed`);
  }
  if (!VOLUME_NAME_RULE.test(name)) {
    throw new InvalidRequestError(
      `invalid volume name ${shown}: expected at least two characters of [a-zA-Z0-9_.-] starting with a letter or digit, as Docker requires`,
    );
  }
}

/** Where one volume's files are. */
export interface VolumePaths {
  /** The volume's own directory, `<root>/<name>`, mode 0700. */
  dir: string;
  /** The volume's content: `<dir>/_data`, a tmpfs or ext4 mount point for those types. */
  data: string;
  /**
   * What dockerd is given as the Mountpoint: `data`, or with a mount dir `<mountDir>/<name>`, a bind
   * mount of `data` that exists while the volume is in use (see lifecycle.ts publishVolume).
   */
  mountpoint: string;
  /** The sparse ext4 image of a size-limited local volume. */
  image: string;
}

/**
 * The paths of volume `name` under `root` (the volumes root) and, when given, `mountDir`. Checks the
 * name first, then that the result is a direct child of `root`, so a name can never escape it.
 * @throws InvalidRequestError for a bad name.
 */
export function volumePaths(root: string, name: string, mountDir?: string): VolumePaths {
  checkVolumeName(name);
  const base = resolve(root);
  const dir = resolve(base, name);
  if (dirname(dir) !== base || dir !== join(base, name)) {
    throw new InvalidRequestError(`invalid volume name ${JSON.stringify(name)}: it would leave the volumes directory`);
  }
  const data = join(dir, '_data');
  return { dir, data, image: join(dir, 'disk.ext4'), mountpoint: mountDir === undefined ? data : join(resolve(mountDir), name) };
}
