/**
 * @module engine-lite's side of `tsnet serve`'s name service: a container on a network, started
 * without `--dns`, gets the responder as its only nameserver (it answers container names and
 * forwards every other name to the host's resolvers), so `ping web` works between containers, on one
 * host or across hosts on an overlay. The responder is found by its link (tsdns0) on the host; without
 * it, resolv.conf is built as docker does.
 */
import type { ContainerRecord } from '../state/records.js';
import { DNS_LINK } from '../../names/defaults.js';
import type { DnsInput } from '../container/etc-files.js';

/** The name service's address on this host (IPv4 first), or undefined when it does not run here. */
export async function nameServiceAddress(): Promise<string | undefined> {
  const { links } = await import('../../common/kernel/links-api.js'); // only containers on networks ask
  const addrs = await links.listAddresses(DNS_LINK).catch(() => []);
  return (addrs.find((a) => a.family === 4) ?? addrs[0])?.address;
}

/** The resolv.conf settings of container `c` (not `--network host`). */
export async function containerDns(c: ContainerRecord): Promise<DnsInput> {
  const ipv6 = c.attachments.some((a) => a.ipv6);
  const ns = c.host.dns.length === 0 && c.attachments.length > 0 ? await nameServiceAddress() : undefined;
  return { dns: ns !== undefined ? [ns] : c.host.dns, search: c.host.dnsSearch, options: c.host.dnsOptions, ipv6 };
}
