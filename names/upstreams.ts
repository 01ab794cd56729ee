/**
 * @module The resolvers the responder forwards to: `--dns-upstream` when given, else the host's own
 * (the `nameserver` lines of /etc/resolv.conf), never the responder's own address.
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';

export interface Upstream {
  host: string;
  port: number;
}

/** `IP`, `IP:PORT` or `[IPv6]:PORT`; undefined when it is none of these. */
export function parseUpstream(value: string): Upstream | undefined {
  const v = value.trim();
  if (isIP(v) !== 0) return { host: v, port: 53 };
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(v);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (host === undefined || isIP(host) === 0 || port < 1 || port > 65535) return undefined;
  return { host, port };
}

/** The `nameserver` addresses of a resolv.conf text, minus `self`. */
export function resolversOf(text: string, self: string): Upstream[] {
  return text
    .split('\n')
    .map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1])
    .filter((ip): ip is string => ip !== undefined && isIP(ip.replace(/%.*$/, '')) !== 0 && ip !== self)
    .map((host) => ({ host, port: 53 }));
}

/** The host's resolvers from `file` (default /etc/resolv.conf); empty when it cannot be read. */
export async function hostResolvers(self: string, file = '/etc/resolv.conf'): Promise<Upstream[]> {
  return resolversOf(await readFile(file, 'utf8').catch(() => ''), self);
}
