/**
 * @module A LAN for macvlan tests and the benchmark, made on the spot, never the host's uplink: a veth
 * pair whose host end is the macvlan parent (`tsmvp…`) and whose other end (`lan0`) sits in a "LAN"
 * namespace (`tstest-…`) holding the router: the first address of each subnet. Nothing is routed
 * beyond the pair (the LAN namespace has no other link and does not forward), so it is safe on a
 * shared machine. Plus ping helpers. Test and bench only; free of vitest so the bench can use it.
 */
import { randomBytes } from 'node:crypto';
import { formatIp, parseCidr } from '../../../common/addr/parse.js';
import { prefixOfCidr } from '../../../common/addr/prefix.js';
import { ensureAddress } from '../../../common/kernel/addresses.js';
import { CommandError, run } from '../../../common/kernel/exec.js';
import { deleteLink, ensureVethPair, moveToNetns, setUp } from '../../../common/kernel/links.js';
import { KernelFeatureMissingError } from '../../../common/kernel/errors.js';
import { deleteNetns, ensureNetns } from '../../../common/kernel/netns.js';
import { ensureVlan } from '../../../common/kernel/vlan.js';

/** Path of the static busybox (Debian's busybox-static), whose ping works in any namespace. */
const BUSYBOX = '/bin/busybox';

export interface TestLan {
  /** The macvlan parent: the host end of the pair, up. */
  readonly parent: string;
  /** The LAN namespace. */
  readonly lanNs: string;
  /** The router address per subnet, in the order the subnets were given (plain addresses). */
  readonly routers: readonly string[];
  /** Deletes the pair and the LAN namespace. Idempotent. */
  remove(): Promise<void>;
}

export interface TestLanOptions {
  /** The LAN's subnets (IPv4 and/or IPv6 CIDRs); the router gets the first address of each. */
  subnets: readonly string[];
  /** Namespace the parent lives in; default this process's (the host's). */
  hostNs?: string;
  /** MTU of both ends of the pair, to show that macvlan children follow their parent. */
  mtu?: number;
  /** Addresses (CIDRs) to give the parent, as a real host's NIC has one on its LAN. */
  parentAddresses?: readonly string[];
}

/** Six hex digits: the parent name (`tsmvp` + 6) leaves room for a `.VID` suffix within 15 bytes. */
const hex = () => randomBytes(3).toString('hex');

/** The address with host part `n` in a subnet (`10.1.2.0/24`, 7 → `10.1.2.7`; `fd00::/64`, 10 → `fd00::a`). */
export function addressIn(subnet: string, n: number): string {
  const c = parseCidr(subnet);
  if (!c) throw new RangeError(`"${subnet}" is not a subnet`);
  return formatIp(c.family, prefixOfCidr(c).first + BigInt(n));
}

/** The first address of a subnet, where the test LAN's router sits (`10.1.2.0/24` → `10.1.2.1`). */
export const firstAddress = (subnet: string): string => addressIn(subnet, 1);

/** Makes the LAN (see module comment). On failure, removes what it made and rethrows. */
export async function makeTestLan(opts: TestLanOptions): Promise<TestLan> {
  const id = hex();
  const parent = `tsmvp${id}`;
  const lanNs = `tstest-${id}`;
  const host = opts.hostNs === undefined ? {} : { netns: opts.hostNs };
  const routers = opts.subnets.map(firstAddress);
  const lan: TestLan = {
    parent,
    lanNs,
    routers,
    async remove() {
      await deleteLink(parent, host);
      await deleteNetns(lanNs);
    },
  };
  try {
    await ensureNetns(lanNs);
    await ensureVethPair(parent, `tstestl${id}`, { ...host, ...(opts.mtu === undefined ? {} : { mtu: opts.mtu }) });
    await moveToNetns(`tstestl${id}`, lanNs, { ...host, newName: 'lan0' });
    for (const [i, subnet] of opts.subnets.entries()) {
      await ensureAddress('lan0', `${routers[i]}/${subnet.split('/')[1]}`, { netns: lanNs, nodad: true });
    }
    await setUp('lan0', { netns: lanNs });
    for (const cidr of opts.parentAddresses ?? []) await ensureAddress(parent, cidr, { ...host, nodad: true });
  } catch (err) {
    await lan.remove().catch(() => undefined);
    throw err;
  }
  return lan;
}

/** Where a ping starts: this process's namespace, a named one, or a process's (a container's) by pid. */
export type PingFrom = { netns?: string; pid?: number };

/** Whether `target` answers one ping within `waitSeconds` (default 2), sent from `from` with the host's busybox. */
export async function pings(target: string, from: PingFrom = {}, waitSeconds = 2): Promise<boolean> {
  const where = from.netns !== undefined ? ['ip', 'netns', 'exec', from.netns] : from.pid !== undefined ? ['nsenter', '-t', String(from.pid), '-n'] : [];
  const family = target.includes(':') ? '-6' : '-4';
  try {
    await run([...where, BUSYBOX, 'ping', family, '-c', '1', '-W', String(waitSeconds), target], { object: `ping ${target}`, step: 'send' });
    return true;
  } catch (err) {
    if (err instanceof CommandError) return false;
    throw err;
  }
}

/**
 * Tries to make a VLAN link in a throwaway namespace. Resolves with `undefined` when the kernel can,
 * or with the reason it cannot (the KernelFeatureMissingError's message), for tests to skip with.
 */
export async function vlanUnsupportedReason(): Promise<string | undefined> {
  const ns = `tstest-${hex()}`;
  try {
    await ensureNetns(ns);
    await ensureVethPair('v0', 'v1', { netns: ns });
    await ensureVlan('v0.7', 'v0', 7, { netns: ns });
    return undefined;
  } catch (err) {
    if (err instanceof KernelFeatureMissingError) return err.message;
    throw err;
  } finally {
    await deleteNetns(ns);
  }
}
