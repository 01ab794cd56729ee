/**
 * @module engine-lite's state directory: one JSON file per record, written atomically (temporary file
 * + rename), plus the state lock. JSON files rather than the suite's LevelDB store because
 * engine-lite is daemonless: many short commands and supervisors touch the state at once, LevelDB
 * admits one opener per directory, and opening it costs more than a whole `run --rm … true` may take.
 *
 * Layout: `containers/<id>/config.json` (with the container's writable layer, log files and
 * /etc files beside it), `networks/<id>.json`, `volumes/<name>.json`, `images/<id>/image.json` (with
 * `rootfs/` for an imported image), `layers/<diffId>/layer.json` (with the unpacked `diff/`) and
 * `l/<diffId prefix>` symlinks to the layers' `diff/` (short overlay lower paths). Keys are %-escaped (`encodeURIComponent`) into file names: volume names are whatever the
 * driver accepts (dockerd checks names only for its `local` driver), `../x` and `a/b` included.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, realpath, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { EngineNotFoundError } from '../errors.js';
import { StateLock } from './lock.js';
import { selfRef } from './proc-ref.js';
import type { ContainerRecord, ImageRecord, LayerRecord, NetworkRecord, VolumeRecord } from './records.js';

const isMissing = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

/** Writes `data` to `path` so that readers see the old or the new content, never a part. */
async function writeFileAtomic(path: string, data: string): Promise<void> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, data, { mode: 0o600 });
  await rename(tmp, path);
}

/** Records of one kind: `file` layout keeps `<key>.json`, `dir` layout `<key>/<file>`. */
export class RecordDir<T> {
  readonly dir: string;
  /** What a record is, for messages (`container`, `network`, …). */
  readonly kind: string;
  readonly #file: string | undefined;

  constructor(kind: string, dir: string, fileInDir?: string) {
    this.kind = kind;
    this.dir = dir;
    this.#file = fileInDir;
  }

  /** Path of the record file of `key`. */
  path(key: string): string {
    const stem = encodeURIComponent(key);
    return this.#file === undefined ? join(this.dir, `${stem}.json`) : join(this.dir, stem, this.#file);
  }

  /** The record, or undefined when there is none. */
  async get(key: string): Promise<T | undefined> {
    try {
      return JSON.parse(await readFile(this.path(key), 'utf8')) as T;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  /** Every record (a key whose file vanished meanwhile is skipped). */
  async list(): Promise<T[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if (isMissing(err)) return [];
      throw err;
    }
    const stems = this.#file === undefined ? names.filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5)) : names;
    const all = await Promise.all(stems.map((stem) => this.get(decodeURIComponent(stem))));
    return all.filter((r): r is Awaited<T> => r !== undefined) as T[];
  }

  /** Creates or replaces the record atomically. */
  async put(key: string, record: T): Promise<void> {
    if (this.#file !== undefined) await mkdir(dirname(this.path(key)), { recursive: true, mode: 0o700 });
    await writeFileAtomic(this.path(key), `${JSON.stringify(record, null, 2)}\n`);
  }

  /** Removes the record file. Idempotent. */
  async remove(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }
}

/** Resolves `ref` among `items` as docker does: full ID, exact name, then a unique ID prefix. */
export function resolveRef<T extends { id: string; name: string }>(items: readonly T[], ref: string, kind: string): T {
  const hit = items.find((i) => i.id === ref) ?? items.find((i) => i.name === ref);
  if (hit) return hit;
  const byPrefix = ref.length > 0 ? items.filter((i) => i.id.startsWith(ref)) : [];
  if (byPrefix.length === 1) return byPrefix[0]!;
  if (byPrefix.length > 1) throw new EngineNotFoundError(`multiple ${kind}s found with provided prefix: ${ref}`);
  throw new EngineNotFoundError(`No such ${kind}: ${ref}`);
}

/** Name of a staging directory made by {@link State.stagingDir}: kind, owner pid and start time. */
export const STAGING_NAME = /^\.([a-z]+)-(\d+)-(\d+)-[0-9a-f]+$/;

/** The state directory: records of every kind and the lock. */
export class State {
  readonly dir: string;
  readonly lock: StateLock;
  readonly containers: RecordDir<ContainerRecord>;
  readonly networks: RecordDir<NetworkRecord>;
  readonly volumes: RecordDir<VolumeRecord>;
  readonly images: RecordDir<ImageRecord>;
  readonly layers: RecordDir<LayerRecord>;

  private constructor(dir: string) {
    this.dir = dir;
    this.lock = new StateLock(dir);
    this.containers = new RecordDir('container', join(dir, 'containers'), 'config.json');
    this.networks = new RecordDir('network', join(dir, 'networks'));
    this.volumes = new RecordDir('volume', join(dir, 'volumes'));
    this.images = new RecordDir('image', join(dir, 'images'), 'image.json');
    this.layers = new RecordDir('layer', join(dir, 'layers'), 'layer.json');
  }

  /** Opens (creating if needed) the state directory `dir`. */
  static async open(dir: string): Promise<State> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const real = await realpath(dir);
    const state = new State(real);
    await Promise.all(['containers', 'networks', 'volumes', 'images', 'layers', 'l'].map((d) => mkdir(join(real, d), { recursive: true, mode: 0o700 })));
    return state;
  }

  /** The directory of container `id` (record, writable layer, logs, /etc files). */
  containerDir(id: string): string {
    return join(this.containers.dir, id);
  }

  /** The files a detached container's standard output and error go to. */
  containerLogs(id: string): { stdout: string; stderr: string } {
    const dir = this.containerDir(id);
    return { stdout: join(dir, 'stdout.log'), stderr: join(dir, 'stderr.log') };
  }

  /**
   * A fresh path for this process's staging directory of an image command (`images/.<kind>-<pid>-<start>-<hex>`,
   * not an image: it has no image.json). The owner in the name tells a killed command's leftovers
   * from a running one's (see {@link STAGING_NAME}).
   */
  stagingDir(kind: string): string {
    const me = selfRef();
    return join(this.images.dir, `.${kind}-${me.pid}-${me.start}-${randomBytes(6).toString('hex')}`);
  }

  /** The directory of image `id`. */
  imageDir(id: string): string {
    return join(this.images.dir, id);
  }

  /** The directory of layer `diffId` (record and `diff/`). */
  layerDir(diffId: string): string {
    return join(this.layers.dir, diffId);
  }

  /**
   * The short symlink `l/<first 16 hex of diffId>` → `../layers/<diffId>/diff` that overlay options
   * name instead of the layer's own path, so that more layers fit in one page of mount options.
   */
  layerLink(diffId: string): string {
    return join(this.dir, 'l', diffId.slice(0, 16));
  }

  /**
   * Reads record `key` of `records`, applies `fn` and writes the result, all under the lock.
   * @throws EngineNotFoundError when the record is gone.
   */
  async update<T>(records: RecordDir<T>, key: string, fn: (r: T) => void): Promise<T> {
    return this.lock.run(async () => {
      const r = await records.get(key);
      if (r === undefined) throw new EngineNotFoundError(`No such ${records.kind}: ${key}`);
      fn(r);
      await records.put(key, r);
      return r;
    });
  }
}
