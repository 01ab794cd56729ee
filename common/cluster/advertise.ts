/**
 * @module `--advertise-addr`: an interface name or an IP address, resolved to the VTEP address other
 * hosts send VXLAN to, and the MTU of the interface that holds it. Asks the kernel layer only.
 */
import { links } from '../kernel/links-api.js';
import { formatIp, parseIp } from '../addr/parse.js';

export interface Advertised {
  /** The address, canonical text. */
  addr: string;
  /** The interface that holds it. */
  link: string;
  mtu: number;
}

/**
 * An interface name gives its first global IPv4 address, else its first global IPv6 address; an IP
 * must be on one of this host's interfaces.
 * @param netns look in this namespace instead of ours (tests).
 * @throws Error naming the value and what was found instead.
 */
export async function resolveAdvertise(value: string, opts: { netns?: string } = {}): Promise<Advertised> {
  const ip = parseIp(value);
  const all = await links.listLinks('', opts);
  if (ip) {
    const wanted = formatIp(ip.family, ip.addr);
    const seen: string[] = [];
    for (const link of all) {
      for (const a of await links.listAddresses(link.name, { ...opts, family: ip.family })) {
        const have = parseIp(a.address);
        if (have && formatIp(have.family, have.addr) === wanted) return { addr: wanted, link: link.name, mtu: link.mtu };
        if (a.scope === 'global') seen.push(`${a.address} (${link.name})`);
      }
    }
    throw new Error(`--advertise-addr ${value} is not an address of this host (global IPv${ip.family} addresses here: ${seen.join(', ') || 'none'})`);
  }
  const link = /^[^\s/:]{1,15}$/.test(value) ? all.find((l) => l.name === value) : undefined;
  if (!link) {
    throw new Error(`--advertise-addr "${value}" is neither an IP address nor an interface of this host (interfaces: ${all.map((l) => l.name).join(', ')})`);
  }
  for (const family of [4, 6] as const) {
    const global = (await links.listAddresses(link.name, { ...opts, family })).find((a) => a.scope === 'global');
    if (global) return { addr: global.address, link: link.name, mtu: link.mtu };
  }
  throw new Error(`--advertise-addr ${value}: interface ${value} has no global IPv4 or IPv6 address; give one, or an IP address`);
}
