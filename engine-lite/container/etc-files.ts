/**
 * @module The /etc/hosts, /etc/hostname and /etc/resolv.conf a container gets, written the way
 * docker writes them (libnetwork `etchosts`, `resolvconf`). Content builders are pure; the files live
 * in the container's directory and are bind-mounted over the image's.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Docker's fixed head of /etc/hosts. */
const HOSTS_HEAD = [
  '127.0.0.1\tlocalhost',
  '::1\tlocalhost ip6-localhost ip6-loopback',
  'fe00::0\tip6-localnet',
  'ff00::0\tip6-mcastprefix',
  'ff02::1\tip6-allnodes',
  'ff02::2\tip6-allrouters',
];

/** Inputs of {@link hostsContent}. */
export interface HostsInput {
  hostname: string;
  /** The container's own addresses (plain IPs), each gets `IP\thostname`. */
  addresses: string[];
  /** `--add-host name:ip` values. */
  extraHosts: string[];
  /** With `--network host`: the host's /etc/hosts, used instead of docker's head. */
  hostFile?: string;
}

/** The text of /etc/hosts. Pure. */
export function hostsContent(input: HostsInput): string {
  const lines = input.hostFile !== undefined ? input.hostFile.trimEnd().split('\n') : [...HOSTS_HEAD];
  for (const h of input.extraHosts) {
    const i = h.indexOf(':');
    lines.push(`${h.slice(i + 1)}\t${h.slice(0, i)}`);
  }
  for (const a of input.addresses) lines.push(`${a}\t${input.hostname}`);
  return `${lines.join('\n')}\n`;
}

/** DNS settings from `--dns`, `--dns-search`, `--dns-option`. */
export interface DnsInput {
  dns: string[];
  search: string[];
  options: string[];
  /** Whether the container has IPv6 (IPv6 nameservers are kept only then). */
  ipv6: boolean;
}

const DEFAULT_V4 = ['8.8.8.8', '8.8.4.4'];
const DEFAULT_V6 = ['2001:4860:4860::8888', '2001:4860:4860::8844'];
const isLocal = (ip: string) => /^127\./.test(ip) || ip === '::1';

/**
 * The text of resolv.conf from the host's file and the flags, as docker does it: flags replace the
 * matching lines; without `--dns`, the host's nameservers minus loopback ones (and minus IPv6 ones
 * without IPv6), or Google's when none remain. Pure.
 */
export function resolvContent(hostFile: string, input: DnsInput): string {
  const lines = hostFile.split('\n').map((l) => l.trim());
  const field = (key: string) => lines.filter((l) => l.startsWith(`${key} `) || l.startsWith(`${key}\t`)).map((l) => l.slice(key.length).trim());
  let servers = input.dns;
  if (servers.length === 0) {
    servers = field('nameserver').filter((s) => !isLocal(s) && (input.ipv6 || !s.includes(':')));
    if (servers.length === 0) servers = [...DEFAULT_V4, ...(input.ipv6 ? DEFAULT_V6 : [])];
  }
  const search = input.search.length > 0 ? input.search : field('search').flatMap((s) => s.split(/\s+/));
  const options = input.options.length > 0 ? input.options : field('options').flatMap((s) => s.split(/\s+/));
  const out = servers.map((s) => `nameserver ${s}`);
  if (search.length > 0 && !(search.length === 1 && search[0] === '.')) out.push(`search ${search.join(' ')}`);
  if (options.length > 0) out.push(`options ${options.join(' ')}`);
  return `${out.join('\n')}\n`;
}

/** The host's resolv.conf; systemd-resolved's upstream file when the host's points at its stub. */
async function hostResolvConf(): Promise<string> {
  const text = await readFile('/etc/resolv.conf', 'utf8').catch(() => '');
  if (/^nameserver 127\.0\.0\.53$/m.test(text)) {
    const upstream = await readFile('/run/systemd/resolve/resolv.conf', 'utf8').catch(() => undefined);
    if (upstream !== undefined) return upstream;
  }
  return text;
}

/** Paths of a container's /etc files in its directory. */
export function etcPaths(containerDir: string): Record<'hosts' | 'hostname' | 'resolv', string> {
  return { hosts: join(containerDir, 'hosts'), hostname: join(containerDir, 'hostname'), resolv: join(containerDir, 'resolv.conf') };
}

/**
 * Writes (or rewrites in place, so bind mounts see it) a container's /etc files.
 */
export async function writeEtcFiles(containerDir: string, hosts: HostsInput, dns: DnsInput | 'host'): Promise<void> {
  const p = etcPaths(containerDir);
  const hostResolv = await hostResolvConf();
  await writeFile(p.hosts, hostsContent(hosts));
  await writeFile(p.hostname, `${hosts.hostname}\n`);
  await writeFile(p.resolv, dns === 'host' ? hostResolv : resolvContent(hostResolv, dns));
}
