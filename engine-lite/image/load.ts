/**
 * @module `engine-lite image load`: the images of a `docker save` archive (tar, plain or gzip, or
 * the same unpacked in a directory) or of an OCI image layout (directory or tar). Everything is
 * staged in `images/.load-<pid>-<start>-<hex>/` first. A tar archive is read once
 * (archive-stream.ts): each layer in it is unpacked into the staging directory as it streams by,
 * hashed on the way, so its files are written once; from a directory, each new layer is unpacked
 * the same way. Every config and layer is then checked against its digest (blob digests where the
 * archive names blobs by digest, the config's `rootfs.diff_ids` for the uncompressed layers, the
 * config file against the image ID) and new layers get their whiteouts converted (common/kernel/layer-fs.ts);
 * only when all of it checked out are the layers moved into the store and the images recorded, under
 * the state lock. A failure removes the staging directory and leaves the store as it was; what a
 * killed load leaves behind is removed by the next load or `image prune` (see removeOrphans).
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, realpath, rm, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ProgressBar } from '../../common/cli/progress.js';
import { convertWhiteouts, extractTar } from '../../common/kernel/layer-fs.js';
import { overlayOptions } from '../../common/kernel/mount-info.js';
import { EngineError, InvalidArgumentError } from '../errors.js';
import type { ImageConfig, ImageRecord, LayerRecord } from '../state/records.js';
import type { State } from '../state/store.js';
import { normalizeImageName } from './images.js';
import { addLayer, lowerDirs, removeOrphans } from './layers.js';
import { renderBar } from './progress.js';
import { memberAt, unpackArchive } from './archive-stream.js';
import { streamTar, type TarDigests } from './tar-stream.js';

/** One image of an archive, with paths relative to the archive's root. */
export interface ArchiveImage {
  /** `repo:tag` names (docker's RepoTags, an OCI ref annotation); may be empty. */
  names: string[];
  config: { path: string; digest?: string };
  /** Bottom first; `digest` is the blob's own digest where the archive names it. */
  layers: { path: string; digest?: string }[];
}

const BLOB_PATH = /^blobs\/sha256\/([0-9a-f]{64})$/;

/** The digest a `blobs/sha256/<hex>` or `<hex>.json` path names, if it names one. */
function digestOfPath(path: string): string | undefined {
  return BLOB_PATH.exec(path)?.[1] ?? /^([0-9a-f]{64})\.json$/.exec(path)?.[1];
}

const bad = (what: string, detail: string) => new InvalidArgumentError(`${what}: ${detail}`);

function strings(v: unknown, what: string): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw bad(what, 'expected an array of strings');
  return v;
}

/** The images of a `docker save` `manifest.json`. Pure. @throws InvalidArgumentError when malformed. */
export function parseDockerManifest(text: string): ArchiveImage[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw bad('manifest.json', 'not valid JSON');
  }
  if (!Array.isArray(json) || json.length === 0) throw bad('manifest.json', 'expected a non-empty array of images');
  return json.map((e: { Config?: unknown; RepoTags?: unknown; Layers?: unknown }, i) => {
    if (typeof e?.Config !== 'string') throw bad(`manifest.json image ${i + 1}`, 'no Config');
    const layers = strings(e.Layers, `manifest.json image ${i + 1} Layers`);
    const digest = digestOfPath(e.Config);
    return {
      names: e.RepoTags == null ? [] : strings(e.RepoTags, `manifest.json image ${i + 1} RepoTags`),
      config: { path: e.Config, ...(digest ? { digest } : {}) },
      layers: layers.map((path) => {
        const d = BLOB_PATH.exec(path)?.[1];
        return { path, ...(d ? { digest: d } : {}) };
      }),
    };
  });
}

interface Descriptor {
  mediaType?: string;
  digest?: string;
  annotations?: Record<string, string>;
  platform?: { architecture?: string; os?: string };
}

const MANIFEST_TYPES = ['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json'];
const INDEX_TYPES = ['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json'];
const GOARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64' };

function descriptorDigest(d: Descriptor, what: string): string {
  const m = /^sha256:([0-9a-f]{64})$/.exec(d.digest ?? '');
  if (!m) throw bad(what, `unsupported digest "${d.digest}" (sha256 only)`);
  return m[1]!;
}

/** The image name an OCI index entry carries (containerd's full name, or a full `ref.name`). */
function ociName(d: Descriptor): string[] {
  const full = d.annotations?.['io.containerd.image.name'];
  const ref = d.annotations?.['org.opencontainers.image.ref.name'];
  const name = full ?? (ref !== undefined && /[/:]/.test(ref) ? ref : undefined);
  return name ? [name] : [];
}

/**
 * The images of an OCI layout, read with `readJson(blobPath)` (index.json first, nested indexes
 * followed; of a multi-platform index, the entries for this machine's architecture).
 * @throws InvalidArgumentError when malformed or of an unsupported media type.
 */
export async function parseOciLayout(readJson: (path: string) => Promise<unknown>, arch: string = process.arch): Promise<ArchiveImage[]> {
  const out: ArchiveImage[] = [];
  const visit = async (index: unknown, what: string, names: string[]) => {
    const manifests = (index as { manifests?: Descriptor[] })?.manifests;
    if (!Array.isArray(manifests)) throw bad(what, 'no manifests');
    const mine = manifests.filter((d) => !d.platform?.architecture || d.platform.architecture === GOARCH[arch]);
    for (const d of mine) {
      const digest = descriptorDigest(d, what);
      const path = `blobs/sha256/${digest}`;
      const own = ociName(d);
      const body = (await readJson(path)) as { mediaType?: string; config?: Descriptor; layers?: Descriptor[]; manifests?: unknown };
      const type = d.mediaType ?? body.mediaType;
      if (INDEX_TYPES.includes(type ?? '') || (type === undefined && Array.isArray(body.manifests))) {
        await visit(body, path, own.length > 0 ? own : names);
        continue;
      }
      if (!MANIFEST_TYPES.includes(type ?? '') && !body.config) throw bad(path, `unsupported media type "${type}"`);
      if (!body.config || !Array.isArray(body.layers)) throw bad(path, 'manifest without config or layers');
      const config = descriptorDigest(body.config, `${path} config`);
      out.push({
        names: own.length > 0 ? own : names,
        config: { path: `blobs/sha256/${config}`, digest: config },
        layers: body.layers.map((l, i) => {
          if (l.mediaType && /zstd/.test(l.mediaType)) throw bad(`${path} layer ${i + 1}`, `media type ${l.mediaType} is not supported (tar or tar+gzip only)`);
          const ld = descriptorDigest(l, `${path} layer ${i + 1}`);
          return { path: `blobs/sha256/${ld}`, digest: ld };
        }),
      });
    }
  };
  await visit(await readJson('index.json'), 'index.json', []);
  if (out.length === 0) throw bad('index.json', `no image for this machine (${GOARCH[arch] ?? arch})`);
  return out;
}

/** The parts of an image config engine-lite uses. Pure. @throws InvalidArgumentError when malformed. */
export function parseImageConfig(text: string, what: string): { diffIds: string[]; config: ImageConfig; created?: string } {
  let json: { rootfs?: { type?: string; diff_ids?: unknown }; config?: Record<string, unknown> | null; created?: unknown };
  try {
    json = JSON.parse(text) as typeof json;
  } catch {
    throw bad(what, 'not valid JSON');
  }
  const diffIds = strings(json.rootfs?.diff_ids, `${what} rootfs.diff_ids`).map((d) => {
    const m = /^sha256:([0-9a-f]{64})$/.exec(d);
    if (!m) throw bad(what, `unsupported diff ID "${d}"`);
    return m[1]!;
  });
  const c = json.config ?? {};
  const config: ImageConfig = {};
  if (c.Env != null) config.env = strings(c.Env, `${what} Env`);
  if (c.Cmd != null) config.cmd = strings(c.Cmd, `${what} Cmd`);
  if (c.Entrypoint != null) config.entrypoint = strings(c.Entrypoint, `${what} Entrypoint`);
  if (typeof c.WorkingDir === 'string' && c.WorkingDir !== '') config.workdir = c.WorkingDir;
  if (typeof c.User === 'string' && c.User !== '') config.user = c.User;
  if (c.ExposedPorts && typeof c.ExposedPorts === 'object') config.exposedPorts = Object.keys(c.ExposedPorts);
  return { diffIds, config, ...(typeof json.created === 'string' ? { created: json.created } : {}) };
}

const discard = (s: Readable) => pipeline(s, new Writable({ write: (_c, _e, done) => done() }));

/** Result of {@link loadImages}: the images recorded and how many layers were new to the store. */
export interface LoadResult {
  images: ImageRecord[];
  layersAdded: number;
  layersReused: number;
}

/**
 * The file an archive names by `path` below `root` (resolved), refused when the path or a symlink on
 * the way leads out of the archive. A missing file resolves to its unresolved path (reading it fails).
 */
async function inside(root: string, path: string, what: string): Promise<string> {
  const out = (p: string) => {
    const rel = relative(root, p);
    return rel === '' || rel === '..' || rel.startsWith('../') || isAbsolute(rel);
  };
  const full = resolve(root, path);
  if (out(full)) throw bad(what, `path "${path}" leaves the archive`);
  const real = await realpath(full).catch(() => full);
  if (out(real)) throw bad(what, `path "${path}" leads out of the archive`);
  return real;
}

/** How {@link stageImage} reads the archive, a directory or an already streamed tar. */
interface ArchiveReader {
  /** The bytes of the member `path`, or undefined when it is missing. */
  read(path: string): Promise<Buffer | undefined>;
  /**
   * The digests of the layer `path`, unpacked into `dir/diff` when `dir` is given (the directory it
   * is in otherwise, if any). Undefined when it is missing.
   */
  layer(path: string, dir: string | undefined, bar: ProgressBar): Promise<(TarDigests & { dir?: string }) | undefined>;
}

/** A reader of the archive unpacked in directory `root`: layers are streamed from their files. */
function directoryReader(root: string, source: string): ArchiveReader {
  return {
    read: async (path) => readFile(await inside(root, path, source)).catch(() => undefined),
    async layer(path, dir, bar) {
      const file = await inside(root, path, source);
      if (!(await stat(file).then(() => true, () => false))) return undefined;
      if (dir) await mkdir(join(dir, 'diff'), { recursive: true, mode: 0o755 });
      const sink = dir ? (tar: Readable) => extractTar(tar, join(dir, 'diff'), `layer ${path}`) : discard;
      return { ...(await streamTar(file, sink, (n) => bar.advance(n))), ...(dir ? { dir } : {}) };
    },
  };
}

/** A reader of the tar archive `file`, read once here (its layers unpacked below `dir`). */
async function tarReader(file: string, dir: string, bar: ProgressBar): Promise<ArchiveReader> {
  const members = await unpackArchive(file, dir, (n) => bar.advance(n));
  return {
    read: async (path) => {
      const m = memberAt(members, path);
      return m?.kind === 'file' ? m.data : undefined;
    },
    async layer(path) {
      const m = memberAt(members, path);
      if (m === undefined) return undefined;
      if (m.kind !== 'layer') throw new Error('not a tar or tar+gzip layer');
      return m;
    },
  };
}

/** How the staged work of one load is laid out. */
interface Staging {
  dir: string;
  /** diffId → staged layer directory (holding `diff/`), or null when the store already has it. */
  layers: Map<string, { dir: string | null; size: number }>;
}

/**
 * Loads every image of `source` (see the module comment) into the store.
 * @throws InvalidArgumentError for an unreadable, corrupt, truncated or unsupported archive (nothing
 * is kept); EngineError when unpacking fails.
 */
export async function loadImages(state: State, source: string, opts: { progress: NodeJS.WriteStream }): Promise<LoadResult> {
  const st = await stat(source).catch(() => {
    throw new InvalidArgumentError(`${source}: no such file or directory`);
  });
  await state.lock.run(() => removeOrphans(state));
  const staging: Staging = { dir: state.stagingDir('load'), layers: new Map() };
  await mkdir(staging.dir, { mode: 0o700 });
  try {
    let reader: ArchiveReader;
    let bar: ProgressBar | undefined;
    const root = st.isDirectory() ? await realpath(source) : '';
    if (root) reader = directoryReader(root, source);
    else {
      bar = new ProgressBar(opts.progress, (done) => renderBar('Loading', done, st.size));
      reader = await tarReader(source, join(staging.dir, 'members'), bar).catch((err: Error) => {
        throw new InvalidArgumentError(`${source}: not a readable tar archive (truncated or corrupt?): ${err.message}`);
      });
    }
    const readJson = async (p: string) => {
      const data = await reader.read(p);
      if (data === undefined) throw bad(source, `${p} is missing`);
      try {
        return JSON.parse(data.toString('utf8')) as unknown;
      } catch {
        throw bad(source, `${p} is not valid JSON`);
      }
    };
    const manifest = await reader.read('manifest.json');
    let archive: ArchiveImage[];
    if (manifest) archive = parseDockerManifest(manifest.toString('utf8'));
    else if (await reader.read('index.json')) archive = await parseOciLayout(readJson);
    else throw bad(source, 'neither a docker save archive (manifest.json) nor an OCI image layout (index.json)');

    if (!bar) {
      const sizes = archive.flatMap((a) => a.layers).map(async (l) => stat(await inside(root, l.path, source)).then((s) => s.size, () => 0));
      const total = (await Promise.all(sizes)).reduce((a, b) => a + b, 0);
      bar = new ProgressBar(opts.progress, (done) => renderBar('Loading', done, total));
    }
    const records: ImageRecord[] = [];
    for (const image of archive) records.push(await stageImage(state, reader, source, image, staging, bar));
    bar.finish();
    return await commit(state, staging, records);
  } catch (err) {
    if (err instanceof EngineError) throw err;
    throw new EngineError(`loading ${source}: ${(err as Error).message}`, { cause: err });
  } finally {
    await rm(staging.dir, { recursive: true, force: true });
  }
}

/** Checks one image of the archive and stages its new layers; returns its record (not yet written). */
async function stageImage(state: State, reader: ArchiveReader, source: string, image: ArchiveImage, staging: Staging, bar: ProgressBar): Promise<ImageRecord> {
  const label = image.names[0] ?? image.config.path;
  const configText = await reader.read(image.config.path);
  if (configText === undefined) throw bad(source, `${image.config.path} (config of ${label}) is missing`);
  const id = createHash('sha256').update(configText).digest('hex');
  if (image.config.digest && image.config.digest !== id) {
    throw bad(source, `config ${image.config.path} of ${label} has digest sha256:${id}, expected sha256:${image.config.digest}: archive corrupt`);
  }
  const { diffIds, config, created } = parseImageConfig(configText.toString('utf8'), `${source} ${image.config.path}`);
  if (diffIds.length !== image.layers.length) {
    throw bad(source, `${label} lists ${image.layers.length} layers but its config ${diffIds.length} diff IDs`);
  }
  if (diffIds.length === 0) throw bad(source, `${label} has no layers`);
  const sample = state.containerDir('0'.repeat(64));
  try {
    overlayOptions(lowerDirs(state, { rootfs: '', layers: diffIds }), `${sample}/upper`, `${sample}/work`);
  } catch (err) {
    throw bad(source, `${label} cannot be mounted: ${(err as Error).message}`);
  }
  let size = 0;
  for (const [i, layer] of image.layers.entries()) {
    const diffId = diffIds[i]!;
    const what = `layer ${i + 1}/${diffIds.length} of ${label} (${layer.path})`;
    let known = staging.layers.get(diffId);
    const stored = known ? undefined : await state.layers.get(diffId);
    if (stored) known = { dir: null, size: stored.size };
    let got;
    try {
      got = await reader.layer(layer.path, known ? undefined : join(staging.dir, 'layers', diffId), bar);
    } catch (err) {
      throw bad(source, `${what} cannot be read (truncated or corrupt?): ${(err as Error).message}`);
    }
    if (!got) throw bad(source, `${what} is missing`);
    const dir = known ? null : (got.dir ?? null);
    if (layer.digest && got.blob !== layer.digest) throw bad(source, `${what} has digest sha256:${got.blob}, expected sha256:${layer.digest}: archive corrupt`);
    if (got.diff !== diffId) throw bad(source, `${what} has diff ID sha256:${got.diff}, the config says sha256:${diffId}: archive corrupt`);
    if (dir) await convertWhiteouts(join(dir, 'diff'));
    staging.layers.set(diffId, known ?? { dir, size: got.bytes });
    size += known?.size ?? got.bytes;
  }
  const names = image.names.map((n) => normalizeImageName(n));
  return { v: 1, id, name: names[0] ?? '', created: created ?? new Date().toISOString(), rootfs: '', owned: true, size, config, layers: diffIds };
}

/** Moves the staged layers into the store and records the images, under the state lock. */
async function commit(state: State, staging: Staging, records: ImageRecord[]): Promise<LoadResult> {
  return state.lock.run(async () => {
    let added = 0;
    let reused = 0;
    const now = new Date().toISOString();
    for (const [diffId, { dir, size }] of staging.layers) {
      const record: LayerRecord = { v: 1, diffId, size, created: now };
      if (dir !== null && (await addLayer(state, dir, record))) added++;
      else if (await state.layers.get(diffId)) reused++;
      else throw new EngineError(`layer sha256:${diffId} was removed from the store while loading; load again`);
    }
    for (const record of records) {
      for (const other of await state.images.list()) {
        if (record.name !== '' && other.name === record.name && other.id !== record.id) await state.images.put(other.id, { ...other, name: '' });
      }
      const existing = await state.images.get(record.id);
      await state.images.put(record.id, { ...record, name: record.name || existing?.name || '' });
    }
    return { images: records, layersAdded: added, layersReused: reused };
  });
}
