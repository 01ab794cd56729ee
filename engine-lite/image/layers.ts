/**
 * @module The layer store: each layer unpacked once under `layers/<diffId>/diff` (diff ID = sha256 of
 * the uncompressed layer tar) and shared by every image that lists it; `l/<16 hex>` symlinks give
 * overlay short lower paths. An image's root filesystem is its layers stacked as overlay lower
 * directories. A layer lives as long as an image record names it: {@link freeLayers} removes the others.
 */
import { readdir, readlink, rename, rm, stat, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { EngineError } from '../errors.js';
import type { ImageRecord, LayerRecord } from '../state/records.js';
import { isAlive } from '../state/proc-ref.js';
import { STAGING_NAME, type State } from '../state/store.js';

/** The overlay lower directories of `image`, top-most first (overlayfs order). */
export function lowerDirs(state: State, image: Pick<ImageRecord, 'rootfs' | 'layers'>): string[] {
  return image.layers ? [...image.layers].reverse().map((d) => state.layerLink(d)) : [image.rootfs];
}

/** Size of an image split into bytes in layers other images also use and bytes only it uses. */
export interface ImageUsage {
  shared: number;
  unique: number;
}

/**
 * Shared and unique size of every image in `images`, by ID, docker's `system df -v` way: a layer
 * counts as shared when two or more images list it. An imported image is all unique. Pure.
 */
export function imageUsage(images: readonly ImageRecord[], layers: readonly LayerRecord[]): Map<string, ImageUsage> {
  const size = new Map(layers.map((l) => [l.diffId, l.size]));
  const users = new Map<string, number>();
  for (const i of images) for (const d of new Set(i.layers)) users.set(d, (users.get(d) ?? 0) + 1);
  const out = new Map<string, ImageUsage>();
  for (const i of images) {
    if (!i.layers) {
      out.set(i.id, { shared: 0, unique: i.size });
      continue;
    }
    let shared = 0;
    let unique = 0;
    for (const d of new Set(i.layers)) {
      if ((users.get(d) ?? 0) > 1) shared += size.get(d) ?? 0;
      else unique += size.get(d) ?? 0;
    }
    out.set(i.id, { shared, unique });
  }
  return out;
}

/**
 * Moves the staged layer `stagedDir` (holding `diff/`) into the store as `record` with its link, unless
 * the store has it already. Call under the state lock.
 * @returns whether it was added.
 * @throws EngineError when the link name is taken by another layer (two diff IDs sharing 64 bits).
 */
export async function addLayer(state: State, stagedDir: string, record: LayerRecord): Promise<boolean> {
  if (await state.layers.get(record.diffId)) return false;
  const link = state.layerLink(record.diffId);
  const target = join('..', 'layers', record.diffId, 'diff');
  const existing = await readlink(link).catch(() => undefined);
  if (existing !== undefined && existing !== target) throw new EngineError(`layer sha256:${record.diffId}: link ${link} already points to ${existing}`);
  await rm(state.layerDir(record.diffId), { recursive: true, force: true }); // a leftover without a record
  await rename(stagedDir, state.layerDir(record.diffId));
  if (existing === undefined) await symlink(target, link);
  await state.layers.put(record.diffId, record);
  return true;
}

/**
 * Removes every layer no image record lists (its record first, then link and files). Call under the
 * state lock.
 * @returns the diff IDs removed.
 */
export async function freeLayers(state: State): Promise<string[]> {
  const used = new Set((await state.images.list()).flatMap((i) => i.layers ?? []));
  const freed: string[] = [];
  for (const layer of await state.layers.list()) {
    if (used.has(layer.diffId)) continue;
    await state.layers.remove(layer.diffId);
    await rm(state.layerLink(layer.diffId), { force: true });
    await rm(state.layerDir(layer.diffId), { recursive: true, force: true });
    freed.push(layer.diffId);
  }
  return freed;
}

/**
 * Removes what killed image commands left behind: staging directories in images/ whose owner is
 * gone, layer directories without a record (moved in just before a crash), and `l/` links to no
 * layer. Call under the state lock (a load moves layers in and records them under it).
 * @returns the paths removed.
 */
export async function removeOrphans(state: State): Promise<string[]> {
  const removed: string[] = [];
  const remove = async (path: string) => {
    await rm(path, { recursive: true, force: true });
    removed.push(path);
  };
  for (const name of await readdir(state.images.dir)) {
    const m = STAGING_NAME.exec(name);
    if (m && !isAlive({ pid: Number(m[2]), start: Number(m[3]) })) await remove(join(state.images.dir, name));
  }
  const recorded = new Set((await state.layers.list()).map((l) => l.diffId));
  for (const name of await readdir(state.layers.dir)) {
    if (!recorded.has(name)) await remove(state.layerDir(name));
  }
  const links = join(state.dir, 'l');
  for (const name of await readdir(links)) {
    const ok = await stat(join(links, name)).then(() => true, () => false);
    if (!ok) await remove(join(links, name));
  }
  return removed;
}
