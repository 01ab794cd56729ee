/**
 * @module The simulated physical network of a multi-host test: an underlay namespace holding a Linux
 * bridge, and one namespace per simulated host joined to that bridge by a veth pair (the host's `eth0`).
 * Nothing of it is in the machine's own namespace, and no namespace gets a default route, so no packet
 * can leave the machine. The /24 comes from the suite's test range and overlaps no route of the machine.
 */
import { deleteNetns, ensureNetns } from '../../common/kernel/netns.js';
import { freeSubnets } from '../kernel/subnets.js';
import { mustRun } from '../system.js';

/** MTU of every underlay link: this machine's real uplink has 1400, so overlays get 1350. */
export const UNDERLAY_MTU = 1400;
/** The host's side of its underlay link. Not `ts…`: a plugin in the host removes `ts…` links it does not own. */
export const UNDERLAY_IFNAME = 'eth0';
const BRIDGE = 'br0';

/** One simulated host's place on the underlay. */
export interface UnderlayHost {
  /** Its network namespace, `tstest-<id>-h<n>`. */
  readonly netns: string;
  /** Its address on {@link UNDERLAY_IFNAME}, `.n` of the subnet (host 1 is `.1`). */
  readonly ip: string;
}

/** The underlay of a cluster; see {@link buildUnderlay}. */
export interface Underlay {
  /** The namespace with the bridge, `tstest-<id>-ul`. */
  readonly netns: string;
  /** The underlay's /24. */
  readonly subnet: string;
  /** The bridge's address in {@link netns}, `.254` (services such as etcd listen here). */
  readonly ip: string;
  readonly hosts: readonly UnderlayHost[];
  /** Deletes every namespace of the underlay (links go with them). Idempotent, also after a failed build. */
  destroy(): Promise<void>;
}

/**
 * Builds the underlay for `hosts` simulated hosts, named after `id`: the namespaces, the bridge `br0`
 * with `.254`, a veth per host (`h<n>` on the bridge, `eth0` in the host with `.n/24`), MTU
 * {@link UNDERLAY_MTU} on all of them, loopbacks up. On failure, what was made is deleted.
 */
export async function buildUnderlay(id: string, hosts: number): Promise<Underlay> {
  if (!Number.isInteger(hosts) || hosts < 1 || hosts > 253) throw new RangeError(`hosts must be 1 to 253, got ${hosts}`);
  const [subnet] = await freeSubnets(1, { family: 4, prefixLen: 24 });
  const prefix = subnet!.split('.').slice(0, 3).join('.');
  const netns = `tstest-${id}-ul`;
  const members = Array.from({ length: hosts }, (_, i) => ({ netns: `tstest-${id}-h${i + 1}`, ip: `${prefix}.${i + 1}` }));
  const underlay: Underlay = {
    netns,
    subnet: subnet!,
    ip: `${prefix}.254`,
    hosts: members,
    async destroy() {
      for (const ns of [...members.map((h) => h.netns), netns]) await deleteNetns(ns);
    },
  };
  const ul = (...args: string[]) => mustRun(['ip', '-n', underlay.netns, ...args]);
  const mtu = String(UNDERLAY_MTU);
  try {
    await ensureNetns(underlay.netns);
    await ul('link', 'add', BRIDGE, 'mtu', mtu, 'type', 'bridge');
    await ul('addr', 'add', `${underlay.ip}/24`, 'dev', BRIDGE);
    await ul('link', 'set', BRIDGE, 'up');
    for (const [i, host] of underlay.hosts.entries()) {
      const port = `h${i + 1}`;
      await ensureNetns(host.netns);
      await ul('link', 'add', port, 'mtu', mtu, 'type', 'veth', 'peer', 'name', UNDERLAY_IFNAME, 'mtu', mtu, 'netns', host.netns);
      await ul('link', 'set', port, 'master', BRIDGE, 'up');
      await mustRun(['ip', '-n', host.netns, 'addr', 'add', `${host.ip}/24`, 'dev', UNDERLAY_IFNAME]);
      await mustRun(['ip', '-n', host.netns, 'link', 'set', UNDERLAY_IFNAME, 'up']);
    }
  } catch (err) {
    await underlay.destroy();
    throw err;
  }
  return underlay;
}
