/**
 * @module Static forwarding-database entries on a VXLAN device (`bridge fdb … self permanent`):
 * which remote VTEP a MAC lives behind. The all-zero MAC is the flooding list (one entry per
 * remote, for broadcast and unknown unicast). `netns` absent: netlink; a name: `bridge -n NAME`.
 */
import { assertIfName, type FdbEntry, type NetnsOption } from './link-types.js';
import { backendFor } from './rt-backend.js';
import { canonicalIp, canonicalMac } from './rt-codec.js';
import { step, stepIgnoring } from './rt-errors.js';

/** MAC of the flooding entries: every remote in this list gets a copy of BUM traffic. */
export const FLOOD_MAC = '00:00:00:00:00:00';

function fdbObject(dev: string, mac: string, dst?: string): string {
  assertIfName(dev);
  return `fdb entry ${canonicalMac(mac)}${dst === undefined ? '' : ` dst ${canonicalIp(dst)}`} on link "${dev}"`;
}

/**
 * Makes frames for `mac` on VXLAN device `dev` go to VTEP `dstIp`. For a unicast MAC this replaces
 * any other remote (the MAC moved); for {@link FLOOD_MAC} it adds `dstIp` to the flooding list.
 * Idempotent.
 */
export async function ensureFdb(dev: string, mac: string, dstIp: string, opts: NetnsOption = {}): Promise<void> {
  const object = await step(`fdb entry ${mac}`, 'parse', async () => fdbObject(dev, mac, dstIp));
  const entry = { dev, mac: canonicalMac(mac), dst: canonicalIp(dstIp) };
  const flood = entry.mac === FLOOD_MAC;
  // Appending a remote that is already in the list answers EEXIST: that is the state we want.
  await stepIgnoring(object, 'add', flood ? ['EEXIST'] : [], () => backendFor(opts.netns).addFdb(entry, flood ? 'append' : 'replace'));
}

/** Removes the entry for `mac` (only the one to `dstIp` when given). Idempotent: a missing entry, link or namespace counts as removed. */
export async function deleteFdb(dev: string, mac: string, dstIp?: string, opts: NetnsOption = {}): Promise<void> {
  const object = await step(`fdb entry ${mac}`, 'parse', async () => fdbObject(dev, mac, dstIp));
  const entry = { dev, mac: canonicalMac(mac), ...(dstIp === undefined ? {} : { dst: canonicalIp(dstIp) }) };
  await stepIgnoring(object, 'delete', ['ENOENT', 'ENODEV', 'ENONETNS'], () => backendFor(opts.netns).delFdb(entry));
}

/** FDB entries of `dev` (static ones we made, and any the kernel or a bridge added). */
export async function listFdb(dev: string, opts: NetnsOption = {}): Promise<FdbEntry[]> {
  assertIfName(dev);
  const all = await step(`fdb of link "${dev}"`, 'list', () => backendFor(opts.netns).listFdb());
  return all.filter((e) => e.dev === dev);
}
