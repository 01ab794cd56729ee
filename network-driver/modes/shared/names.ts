/**
 * @module Kernel object names made from Docker IDs: a fixed prefix per kind of object plus as much of
 * the ID as fits in Linux's 15-byte interface names (IFNAMSIZ less the NUL), e.g. `tsbr-3f2a9c01b7`.
 * Pure. Crash cleanup finds the objects again by prefix.
 */
import { IFNAME_MAX_BYTES } from '../../../common/kernel/link-types.js';

/**
 * `prefix` followed by the start of `id`, filling all 15 bytes Linux allows (at least 6 characters
 * of the ID, so two objects of one kind rarely collide).
 * @throws RangeError when the prefix leaves fewer than 6 bytes, or `id` is not lower-case hex or alphanumerics.
 */
export function nameFromId(prefix: string, id: string): string {
  const room = IFNAME_MAX_BYTES - Buffer.byteLength(prefix);
  if (room < 6) throw new RangeError(`prefix "${prefix}" leaves ${room} bytes for the ID; at least 6 are needed`);
  if (!/^[a-z0-9]+$/.test(id)) throw new RangeError(`ID "${id}" must be lower-case letters and digits`);
  return prefix + id.slice(0, room);
}

/** The short form of a Docker ID used in messages and logs (as `docker network ls` shows it). */
export const short = (id: string): string => id.slice(0, 12);
