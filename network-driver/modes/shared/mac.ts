/**
 * @module MAC addresses derived from IP addresses, as Docker's bridge driver makes them: `02:42:` (a
 * locally administered unicast prefix) followed by the four bytes of the IPv4 address, so an address
 * and its MAC move together and neighbours need no new ARP entry when a container comes back. Pure.
 */
import { parseCidr, parseIp } from '../../../common/addr/parse.js';

const hex = (n: bigint) => n.toString(16).padStart(2, '0');

/**
 * The MAC for `address` (`10.20.0.5`, `10.20.0.5/24`, or IPv6, of which the last four bytes are used):
 * `02:42:0a:14:00:05`.
 * @throws RangeError when `address` is not an IP address or CIDR.
 */
export function macFromIp(address: string): string {
  const ip = address.includes('/') ? parseCidr(address) : parseIp(address);
  if (!ip) throw new RangeError(`"${address}" is not an IP address`);
  const low = ip.addr & 0xffffffffn;
  return ['02', '42', ...[24n, 16n, 8n, 0n].map((s) => hex((low >> s) & 0xffn))].join(':');
}
