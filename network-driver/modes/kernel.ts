/**
 * @module The kernel seam of every mode: the calls the modes make (bridge core, overlay, macvlan), as
 * one injected object with the network namespace bound ONCE, when it is made. Production passes
 * {@link hostModeKernel}() (this namespace), kernel tests `hostModeKernel({ netns })` (a throwaway one),
 * unit tests the recording fake in ./testing/fake-kernel.ts, so every decision of a mode can be checked
 * without root. Only this file imports common/kernel's link, firewall and sysctl calls; a mode never
 * runs a program, opens a socket or names a namespace itself.
 */
import { setHairpin } from '../../common/kernel/bridge-port.js';
import { FLOOD_MAC } from '../../common/kernel/fdb.js';
import { applyChains, deleteChains, type ChainSpec, type JumpSpec } from '../../common/kernel/firewall.js';
import type { AddressInfo, FdbEntry, LinkInfo, MacvlanMode, NeighborInfo, NetnsOption, RouteInfo, RouteSpec, VxlanOptions } from '../../common/kernel/link-types.js';
import { deleteLinkOutOfProcess } from '../../common/kernel/link-delete.js';
import { links } from '../../common/kernel/links-api.js';
import { withNetnsAt } from '../../common/kernel/netns.js';
import { applyNft, listNftElements } from '../../common/kernel/nftables.js';
import { ensureSysctl } from '../../common/kernel/sysctl.js';
import { ensureVlan } from '../../common/kernel/vlan.js';
import { applyXfrm, listXfrm, requireEspAead, stateBytes, type XfrmChange, type XfrmPolicy, type XfrmState } from '../../common/kernel/xfrm.js';
import { probePort, type PortProbe, type ProbeResult } from './bridge-core/port-probe.js';

/** Everything the modes ask of the kernel, with the namespace already bound. */
export interface ModeKernel {
  findLink(name: string): Promise<LinkInfo | undefined>;
  /** Links whose name starts with `prefix` (default: all), sorted by name. */
  listLinks(prefix?: string): Promise<LinkInfo[]>;
  ensureBridge(name: string, opts: { mtu: number; mac: string }): Promise<void>;
  ensureVethPair(host: string, peer: string, opts: { mtu: number; master: string; peerMac?: string }): Promise<void>;
  setMaster(name: string, bridge: string): Promise<void>;
  setHairpin(port: string, on: boolean): Promise<void>;
  deleteLink(name: string): Promise<void>;
  /** Deletes a link from a child process, so the kernel's RCU wait does not hold up the plugin's other work. */
  deleteLinkOutOfProcess(name: string): Promise<void>;
  /** Adds `cidr` (IPv6 without duplicate address detection: the addresses are IPAM's or the operator's). */
  ensureAddress(link: string, cidr: string): Promise<void>;
  /** Routes of the main table, of one family or (default) both. */
  listRoutes(family?: 4 | 6): Promise<RouteInfo[]>;
  ensureRoute(route: RouteSpec): Promise<void>;
  /** Missing routes (or links) count as deleted. */
  deleteRoute(route: RouteSpec): Promise<void>;
  ensureSysctl(key: string, value: string): Promise<void>;
  /** One nftables transaction (see common/kernel/nftables.ts). */
  nft(lines: readonly string[]): Promise<void>;
  /** One iptables-restore per family: replace `chains`, ensure `jumps`. */
  applyChains(chains: ChainSpec[], jumps: JumpSpec[], family: 4 | 6): Promise<void>;
  /** Deletes owned filter-table chains and the jumps to them; missing ones count as deleted. */
  deleteChains(names: string[], family: 4 | 6): Promise<void>;
  listAddresses(link: string): Promise<AddressInfo[]>;
  /** Every link's addresses by name, from one dump: for a look at many links (a dump costs more the more links there are). */
  addressesByLink(): Promise<Map<string, AddressInfo[]>>;
  /** The elements of each set and map of our nftables table, as the scripts write them; undefined without the table. */
  nftElements(table: string): Promise<Map<string, string[]> | undefined>;
  /**
   * Moves `peer` into the namespace at `sandboxKey` as the first free `<prefix><n>`, with its MAC,
   * addresses and default routes, as dockerd does after Join (used by `tsnet doctor --fix` when the
   * endpoint's veth was deleted under a running container). Returns the name it got there.
   */
  plugIntoSandbox(sandboxKey: string, peer: string, cfg: SandboxConfig): Promise<string>;
  /** The links inside the namespace at `sandboxKey` (a container's), for `tsnet doctor`; undefined when it is gone. */
  sandboxLinks(sandboxKey: string): Promise<LinkInfo[] | undefined>;
  /** Whether nothing on the host listens on a port we are about to publish. */
  probePort: PortProbe;
  /** A macvlan child of `parent`; an existing one is fixed up. `up` defaults to true. */
  ensureMacvlan(name: string, parent: string, mode: MacvlanMode, opts: { mtu?: number; mac?: string; up?: boolean }): Promise<void>;
  /** An 802.1Q sub-interface; throws KernelFeatureMissingError without the kernel's 8021q. */
  ensureVlan(name: string, parent: string, vid: number, opts: { up?: boolean }): Promise<void>;
  setUp(name: string): Promise<void>;
  ensureVxlan(name: string, opts: Omit<VxlanOptions, 'netns'>): Promise<void>;
  /** Static entries of a VXLAN device: MAC → remote VTEP (the flood entry left out). */
  listFdb(dev: string): Promise<FdbEntry[]>;
  ensureFdb(dev: string, mac: string, vtep: string): Promise<void>;
  deleteFdb(dev: string, mac: string): Promise<void>;
  /** Permanent neighbour entries of a device. */
  listNeighbors(dev: string): Promise<NeighborInfo[]>;
  ensureNeighbor(dev: string, ip: string, mac: string): Promise<void>;
  deleteNeighbor(dev: string, ip: string): Promise<void>;
  /** Encrypted overlays: throws KernelFeatureMissingError naming what the kernel lacks (ESP, AES-GCM). */
  requireEspAead(): Promise<void>;
  /** Our xfrm states and policies (reqid in our range; keys not read back). */
  listXfrm(): Promise<{ states: XfrmState[]; policies: XfrmPolicy[] }>;
  /** Applies xfrm changes in order; deleting what is gone is fine. */
  applyXfrm(changes: readonly XfrmChange[]): Promise<void>;
  /** Bytes sent so far through each of our states, by SPI. */
  xfrmBytes(): Promise<Map<number, number>>;
}

/** How a re-made endpoint interface is set up inside its container. */
export interface SandboxConfig {
  prefix: string;
  mac: string;
  addresses: string[];
  gateway4?: string;
  gateway6?: string;
}

/** See {@link ModeKernel.plugIntoSandbox}. */
async function plugIntoSandbox(sandboxKey: string, peer: string, cfg: SandboxConfig): Promise<string> {
  return withNetnsAt(sandboxKey, async (netns) => {
    const taken = new Set((await links.listLinks('', { netns })).map((l) => l.name));
    let n = 0;
    while (taken.has(`${cfg.prefix}${n}`)) n++;
    const ifname = `${cfg.prefix}${n}`;
    await links.moveToNetns(peer, netns, { newName: ifname });
    if (cfg.mac) await links.setMac(ifname, cfg.mac, { netns });
    for (const cidr of cfg.addresses) await links.ensureAddress(ifname, cidr, { netns, nodad: cidr.includes(':') });
    await links.setUp(ifname, { netns });
    if (cfg.gateway4) await links.ensureRoute({ dst: '0.0.0.0/0', via: cfg.gateway4, dev: ifname }, { netns });
    if (cfg.gateway6) await links.ensureRoute({ dst: '::/0', via: cfg.gateway6, dev: ifname }, { netns });
    return ifname;
  });
}

/** See {@link ModeKernel.sandboxLinks}. */
async function sandboxLinks(sandboxKey: string): Promise<LinkInfo[] | undefined> {
  try {
    return await withNetnsAt(sandboxKey, (netns) => links.listLinks('', { netns }));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * The real kernel, in this process's namespace or (for kernel tests) in the named one. In a named
 * namespace the port probe answers "free" for everything: Node cannot bind sockets in another namespace.
 */
export function hostModeKernel(opts: NetnsOption = {}): ModeKernel {
  const ns: NetnsOption = opts.netns === undefined ? {} : { netns: opts.netns };
  return {
    findLink: (name) => links.findLink(name, ns),
    listLinks: (prefix = '') => links.listLinks(prefix, ns),
    ensureBridge: (name, o) => links.ensureBridge(name, { ...o, ...ns }),
    ensureVethPair: (host, peer, o) => links.ensureVethPair(host, peer, { ...o, ...ns }),
    setMaster: (name, bridge) => links.setMaster(name, bridge, ns),
    setHairpin: (port, on) => setHairpin(port, on, ns),
    deleteLink: (name) => links.deleteLink(name, ns),
    deleteLinkOutOfProcess: (name) => deleteLinkOutOfProcess(name, ns),
    ensureAddress: (link, cidr) => links.ensureAddress(link, cidr, { ...ns, nodad: cidr.includes(':') }),
    listRoutes: (family) => links.listRoutes({ ...ns, ...(family === undefined ? {} : { family }) }),
    ensureRoute: (route) => links.ensureRoute(route, ns),
    deleteRoute: (route) => links.deleteRoute(route, ns),
    ensureSysctl: async (key, value) => void (await ensureSysctl(key, value, ns)),
    nft: async (lines) => void (await applyNft(lines, ns)),
    applyChains: async (chains, jumps, family) => void (await applyChains(chains, { family, jumps, ...ns })),
    deleteChains: async (names, family) => void (await deleteChains(names, { family, tables: ['filter'], ...ns })),
    listAddresses: (link) => links.listAddresses(link, ns),
    addressesByLink: async () => {
      const out = new Map<string, AddressInfo[]>();
      for (const { dev, ...a } of await links.listAllAddresses(ns)) out.set(dev, [...(out.get(dev) ?? []), a]);
      return out;
    },
    nftElements: (table) => listNftElements(table, ns),
    plugIntoSandbox,
    sandboxLinks,
    probePort: ns.netns === undefined ? probePort : async (): Promise<ProbeResult> => 'free',
    ensureMacvlan: (name, parent, mode, o) => links.ensureMacvlan(name, parent, mode, { ...o, ...ns }),
    ensureVlan: (name, parent, vid, o) => ensureVlan(name, parent, vid, { ...o, ...ns }),
    setUp: (name) => links.setUp(name, ns),
    ensureVxlan: (name, o) => links.ensureVxlan(name, { ...o, ...ns }),
    listFdb: async (dev) => (await links.listFdb(dev, ns)).filter((e) => e.self && e.dst !== undefined && e.mac !== FLOOD_MAC),
    ensureFdb: (dev, mac, vtep) => links.ensureFdb(dev, mac, vtep, ns),
    deleteFdb: (dev, mac) => links.deleteFdb(dev, mac, undefined, ns),
    listNeighbors: async (dev) => (await links.listNeighbors(dev, ns)).filter((n) => n.permanent),
    ensureNeighbor: (dev, ip, mac) => links.ensureNeighbor(dev, ip, mac, ns),
    deleteNeighbor: (dev, ip) => links.deleteNeighbor(dev, ip, ns),
    requireEspAead: () => requireEspAead(ns),
    listXfrm: () => listXfrm(ns),
    applyXfrm: (changes) => applyXfrm(changes, ns),
    xfrmBytes: () => stateBytes(ns),
  };
}
