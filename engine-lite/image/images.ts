/**
 * @module Image names and lookup: `busybox` means `busybox:latest`, as in docker; an image is also
 * found by its ID or a unique ID prefix (with or without `sha256:`). Removal frees what only that image used.
 */
import { rm } from 'node:fs/promises';
import { EngineConflictError, InvalidArgumentError, EngineNotFoundError } from '../errors.js';
import type { ImageRecord } from '../state/records.js';
import type { State } from '../state/store.js';
import { freeLayers } from './layers.js';

const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const NAME_RE = new RegExp(`^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?/)?${COMPONENT}(?:/${COMPONENT})*(?::[\\w][\\w.-]{0,127})?$`);

/**
 * `repo[:tag]` → `repo:tag` with `latest` as the default tag.
 * @throws InvalidArgumentError for a name docker would refuse.
 */
export function normalizeImageName(ref: string): string {
  if (!NAME_RE.test(ref)) throw new InvalidArgumentError(`invalid reference format: "${ref}" (repository names must be lowercase)`);
  const lastColon = ref.lastIndexOf(':');
  return lastColon > ref.lastIndexOf('/') ? ref : `${ref}:latest`;
}

/** The image `ref` names (name, ID or unique ID prefix). @throws EngineNotFoundError */
export async function findImage(state: State, ref: string): Promise<ImageRecord> {
  const images = await state.images.list();
  const id = ref.startsWith('sha256:') ? ref.slice(7) : ref;
  const name = NAME_RE.test(ref) ? normalizeImageName(ref) : ref;
  const hit = images.find((i) => i.id === id) ?? images.find((i) => i.name !== '' && i.name === name);
  if (hit) return hit;
  const byPrefix = /^[0-9a-f]+$/.test(id) ? images.filter((i) => i.id.startsWith(id)) : [];
  if (byPrefix.length === 1) return byPrefix[0]!;
  throw new EngineNotFoundError(`No such image: ${ref}`);
}

/**
 * Removes an image and, if engine-lite owns it, its root filesystem, or the layers no other image
 * uses. Refused while a container uses it.
 * @throws EngineNotFoundError, EngineConflictError
 */
export async function removeImage(state: State, ref: string): Promise<ImageRecord> {
  return state.lock.run(async () => {
    const image = await findImage(state, ref);
    const user = (await state.containers.list()).find((c) => c.image.id === image.id);
    if (user) {
      throw new EngineConflictError(`conflict: unable to remove image ${ref} - container ${user.id.slice(0, 12)} (${user.name}) is using it`);
    }
    await state.images.remove(image.id);
    await rm(state.imageDir(image.id), { recursive: true, force: true });
    if (image.layers) await freeLayers(state);
    return image;
  });
}
