/**
 * @module Static neighbour (ARP/NDP) entries, as the overlay programs them on its VXLAN device
 * so that no ARP crosses the underlay. `netns` absent: our own namespace over netlink; a name:
 * `ip -n NAME`. Every function is idempotent and fails with a KernelError naming the entry.
 */
import { assertIfName, type NeighborInfo, type NetnsOption } from './link-types.js';
import { backendFor } from './rt-backend.js';
import { canonicalIp, canonicalMac } from './rt-codec.js';
import { step, stepIgnoring } from './rt-errors.js';

function neighborObject(dev: string, ip: string): string {
  assertIfName(dev);
  return `neighbour ${canonicalIp(ip)} on link "${dev}"`;
}

/** Makes `ip` resolve to `mac` on `dev`, permanently (NUD_PERMANENT). Idempotent: replaces an existing entry. */
export async function ensureNeighbor(dev: string, ip: string, mac: string, opts: NetnsOption = {}): Promise<void> {
  const object = await step(`neighbour ${ip}`, 'parse', async () => neighborObject(dev, ip));
  await step(object, 'add', () => backendFor(opts.netns).replaceNeighbor(dev, canonicalIp(ip), canonicalMac(mac)));
}

/** Removes the entry for `ip` on `dev`. Idempotent: a missing entry, link or namespace counts as removed. */
export async function deleteNeighbor(dev: string, ip: string, opts: NetnsOption = {}): Promise<void> {
  const object = await step(`neighbour ${ip}`, 'parse', async () => neighborObject(dev, ip));
  await stepIgnoring(object, 'delete', ['ENOENT', 'ENODEV', 'ENONETNS'], () => backendFor(opts.netns).delNeighbor(dev, canonicalIp(ip)));
}

/** Neighbour entries on `dev`, IPv4 and IPv6. */
export async function listNeighbors(dev: string, opts: NetnsOption = {}): Promise<NeighborInfo[]> {
  assertIfName(dev);
  const all = await step(`neighbours of link "${dev}"`, 'list', () => backendFor(opts.netns).listNeighbors());
  return all.filter((n) => n.dev === dev);
}
