/**
 * @module IP addresses on links (IPv4 and IPv6). `netns` absent: our own namespace over netlink;
 * a name: `ip -n NAME`. Every function is idempotent and fails with a KernelError naming the address.
 */
import { assertIfName, type AddressInfo, type AddressOptions, type NetnsOption } from './link-types.js';
import { backendFor } from './rt-backend.js';
import { formatCidr, parseCidr } from './rt-codec.js';
import { step, stepIgnoring } from './rt-errors.js';

/** Canonical CIDR text and the error-message name of an address on a link. */
function target(link: string, cidr: string): [string, string] {
  assertIfName(link);
  const canonical = formatCidr(parseCidr(cidr));
  return [canonical, `address ${canonical} on link "${link}"`];
}

/**
 * Puts `cidr` (e.g. `10.1.0.1/24`, `fd00::1/64`) on `link`. Idempotent: NLM_F_REPLACE, so an
 * address already there is kept (its prefix length updated).
 */
export async function ensureAddress(link: string, cidr: string, opts: AddressOptions = {}): Promise<void> {
  const [canonical, object] = await step(`address ${cidr}`, 'parse', async () => target(link, cidr));
  await step(object, 'add', () => backendFor(opts.netns).replaceAddress(link, canonical, opts.nodad ?? false));
}

/** Removes `cidr` from `link`. Idempotent: a missing address, link or namespace counts as removed. */
export async function deleteAddress(link: string, cidr: string, opts: NetnsOption = {}): Promise<void> {
  const [canonical, object] = await step(`address ${cidr}`, 'parse', async () => target(link, cidr));
  await stepIgnoring(object, 'delete', ['EADDRNOTAVAIL', 'ENODEV', 'ENONETNS'], () => backendFor(opts.netns).delAddress(link, canonical));
}

/** The addresses on `link` (link-local IPv6 included; filter on `scope`), optionally of one family. Empty when the link is missing. */
export async function listAddresses(link: string, opts: NetnsOption & { family?: 4 | 6 } = {}): Promise<AddressInfo[]> {
  assertIfName(link);
  const all = await step(`addresses of link "${link}"`, 'list', () => backendFor(opts.netns).listAddresses());
  return all
    .filter((a) => a.dev === link && (opts.family === undefined || a.family === opts.family))
    .map(({ dev: _dev, ...a }) => a);
}

/**
 * Every address of every link (`dev`: the link's name), from one dump. The kernel answers every
 * address dump whole, and a dump costs more the more links there are, so a look at many links
 * (doctor) asks once instead of {@link listAddresses} per link.
 */
export async function listAllAddresses(opts: NetnsOption = {}): Promise<Array<AddressInfo & { dev: string }>> {
  return step('addresses of every link', 'list', () => backendFor(opts.netns).listAddresses());
}
