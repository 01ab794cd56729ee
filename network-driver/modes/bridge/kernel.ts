/**
 * @module The kernel calls bridge mode makes, as one injected object: production passes
 * {@link hostBridgeKernel}() (this namespace), kernel tests pass it a throwaway namespace, and unit tests
 * pass a recording fake, so every decision of the mode can be checked without root. Only this file
 * imports common/kernel; the mode never runs a program or opens a socket itself.
 */
import { setHairpin } from '../../../common/kernel/bridge-port.js';
import { applyChains, deleteChains, type ChainSpec, type JumpSpec } from '../../../common/kernel/firewall.js';
import type { AddressInfo, LinkInfo, NetnsOption, RouteInfo } from '../../../common/kernel/link-types.js';
import { deleteLinkOutOfProcess } from '../../../common/kernel/link-delete.js';
import { links } from '../../../common/kernel/links-api.js';
import { withNetnsAt } from '../../../common/kernel/netns.js';
import { applyNft, listNftElements } from '../../../common/kernel/nftables.js';
import { ensureSysctl } from '../../../common/kernel/sysctl.js';
import { probePort, type PortProbe, type ProbeResult } from './port-probe.js';

/** Everything bridge mode asks of the kernel, with the namespace already bound. */
export interface BridgeKernel {
  findLink(name: string): Promise<LinkInfo | undefined>;
  listLinks(): Promise<LinkInfo[]>;
  ensureBridge(name: string, opts: { mtu: number; mac: string }): Promise<void>;
  ensureVethPair(host: string, peer: string, opts: { mtu: number; master: string; peerMac?: string }): Promise<void>;
  setMaster(name: string, bridge: string): Promise<void>;
  setHairpin(port: string, on: boolean): Promise<void>;
  deleteLink(name: string): Promise<void>;
  /** Deletes a link from a child process, so the kernel's RCU wait does not hold up the plugin's other work. */
  deleteLinkOutOfProcess(name: string): Promise<void>;
  ensureAddress(link: string, cidr: string): Promise<void>;
  listRoutes(family: 4 | 6): Promise<RouteInfo[]>;
  ensureSysctl(key: string, value: string): Promise<void>;
  /** One nftables transaction (see common/kernel/nftables.ts). */
  nft(lines: readonly string[]): Promise<void>;
  /** One iptables-restore per family: replace `chains`, ensure `jumps`. */
  applyChains(chains: ChainSpec[], jumps: JumpSpec[], family: 4 | 6): Promise<void>;
  /** Deletes owned filter-table chains and the jumps to them; missing ones count as deleted. */
  deleteChains(names: string[], family: 4 | 6): Promise<void>;
  listAddresses(link: string): Promise<AddressInfo[]>;
  /** The elements of each set and map of our nftables table, as the scripts write them; undefined without the table. */
  nftElements(table: string): Promise<Map<string, string[]> | undefined>;
  /**
   * Moves `peer` into the namespace at `sandboxKey` as the first free `<prefix><n>`, with its MAC,
   * addresses and default routes, as dockerd does after Join (used by `tsnet doctor --fix` when the
   * endpoint's veth was deleted under a running container). Returns the name it got there.
   */
  plugIntoSandbox(sandboxKey: string, peer: string, cfg: SandboxConfig): Promise<string>;
  /** Whether nothing on the host listens on a port we are about to publish. */
  probePort: PortProbe;
}

/** How a re-made endpoint interface is set up inside its container. */
export interface SandboxConfig {
  prefix: string;
  mac: string;
  addresses: string[];
  gateway4?: string;
  gateway6?: string;
}

/** See {@link BridgeKernel.plugIntoSandbox}. */
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

/**
 * The real kernel, in this process's namespace or (for kernel tests) in the named one. In a named
 * namespace the port probe answers "free" for everything: Node cannot bind sockets in another namespace.
 */
export function hostBridgeKernel(opts: NetnsOption = {}): BridgeKernel {
  const ns: NetnsOption = opts.netns === undefined ? {} : { netns: opts.netns };
  return {
    findLink: (name) => links.findLink(name, ns),
    listLinks: () => links.listLinks('', ns),
    ensureBridge: (name, o) => links.ensureBridge(name, { ...o, ...ns }),
    ensureVethPair: (host, peer, o) => links.ensureVethPair(host, peer, { ...o, ...ns }),
    setMaster: (name, bridge) => links.setMaster(name, bridge, ns),
    setHairpin: (port, on) => setHairpin(port, on, ns),
    deleteLink: (name) => links.deleteLink(name, ns),
    deleteLinkOutOfProcess: (name) => deleteLinkOutOfProcess(name, ns),
    ensureAddress: (link, cidr) => links.ensureAddress(link, cidr, { ...ns, nodad: cidr.includes(':') }),
    listRoutes: (family) => links.listRoutes({ ...ns, family }),
    ensureSysctl: async (key, value) => void (await ensureSysctl(key, value, ns)),
    nft: async (lines) => void (await applyNft(lines, ns)),
    applyChains: async (chains, jumps, family) => void (await applyChains(chains, { family, jumps, ...ns })),
    deleteChains: async (names, family) => void (await deleteChains(names, { family, tables: ['filter'], ...ns })),
    listAddresses: (link) => links.listAddresses(link, ns),
    nftElements: (table) => listNftElements(table, ns),
    plugIntoSandbox,
    probePort: ns.netns === undefined ? probePort : async (): Promise<ProbeResult> => 'free',
  };
}
