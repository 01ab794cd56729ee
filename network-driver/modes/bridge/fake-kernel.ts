/**
 * @module A recording fake of {@link BridgeKernel} for unit tests: a small model of links (with
 * masters), addresses and sysctls, every nft script and iptables change kept as data, ports that a
 * "host process" holds, and failures injected by call name. No root, no kernel.
 */
import type { LinkInfo, RouteInfo } from '../../../common/kernel/link-types.js';
import type { BridgeKernel } from './kernel.js';
import type { ProbeResult } from './port-probe.js';

export interface FakeKernel extends BridgeKernel {
  /** Every call, as `name arg1 arg2…` (objects as JSON). */
  calls: string[];
  links: Map<string, LinkInfo>;
  addresses: Map<string, string[]>;
  sysctls: Map<string, string>;
  /** Every nft script applied, in order. */
  scripts: string[][];
  /** The nftables tables the scripts left, as table → set or map → elements (interface names unquoted). */
  nftTables: Map<string, Map<string, string[]>>;
  /** Endpoints plugged into sandboxes by plugIntoSandbox, as `sandboxKey peer`. */
  plugged: string[];
  /** Handoff chains present, as `family/NAME`. */
  chains: Set<string>;
  /** Host ports a process listens on, as `family/proto/port`. */
  busyPorts: Set<string>;
  /** Calls that throw: a call fails when its recorded line starts with an entry (`nft`, `ensureSysctl net.bridge`). */
  failOn: Set<string>;
}

const UPLINK: LinkInfo = { name: 'eth0', index: 2, kind: 'device', mtu: 1400, mac: '02:fc:00:00:00:01', up: true };
const DEFAULT_ROUTE: RouteInfo = { family: 4, dst: '0.0.0.0/0', via: '192.0.2.1', dev: 'eth0', type: 'unicast', table: 254, protocol: 3, scope: 0 };

/** A fake host with `eth0` (MTU 1400) carrying the default route. */
export function fakeKernel(): FakeKernel {
  let index = 10;
  const k: FakeKernel = {
    calls: [],
    links: new Map([[UPLINK.name, UPLINK]]),
    addresses: new Map(),
    sysctls: new Map(),
    scripts: [],
    nftTables: new Map(),
    plugged: [],
    chains: new Set(),
    busyPorts: new Set(),
    failOn: new Set(),
    async findLink(name) {
      record('findLink', name);
      return k.links.get(name);
    },
    async listLinks() {
      record('listLinks');
      return [...k.links.values()];
    },
    async ensureBridge(name, o) {
      record('ensureBridge', name, o);
      const have = k.links.get(name);
      k.links.set(name, { ...(have ?? { name, index: index++, kind: 'bridge', up: true }), mtu: o.mtu, mac: o.mac });
    },
    async ensureVethPair(host, peer, o) {
      record('ensureVethPair', host, peer, o);
      k.links.set(host, { name: host, index: index++, kind: 'veth', mtu: o.mtu, mac: '0a:00:00:00:00:01', up: true, master: o.master, peer });
    },
    async setMaster(name, bridge) {
      record('setMaster', name, bridge);
      const l = k.links.get(name);
      if (l) l.master = bridge;
    },
    async setHairpin(port, on) {
      record('setHairpin', port, on);
    },
    async deleteLink(name) {
      record('deleteLink', name);
      k.links.delete(name);
      k.addresses.delete(name);
    },
    async deleteLinkOutOfProcess(name) {
      record('deleteLinkOutOfProcess', name);
      k.links.delete(name);
    },
    async ensureAddress(link, cidr) {
      record('ensureAddress', link, cidr);
      k.addresses.set(link, [...(k.addresses.get(link) ?? []), cidr]);
    },
    async listRoutes(family) {
      record('listRoutes', family);
      return family === 4 ? [DEFAULT_ROUTE] : [];
    },
    async ensureSysctl(key, value) {
      record('ensureSysctl', key, value);
      k.sysctls.set(key, value);
    },
    async nft(lines) {
      record('nft', lines.length);
      k.scripts.push([...lines]);
      for (const line of lines) applyLine(line);
    },
    async listAddresses(link) {
      record('listAddresses', link);
      return (k.addresses.get(link) ?? []).map((cidr) => {
        const [address = '', len = '0'] = cidr.split('/');
        return { family: address.includes(':') ? 6 : 4, address, prefixLength: Number(len), cidr, scope: 'global' as const };
      });
    },
    async nftElements(table) {
      record('nftElements', table);
      const t = k.nftTables.get(table);
      return t && new Map([...t].map(([set, els]) => [set, [...els]]));
    },
    async plugIntoSandbox(sandboxKey, peer, cfg) {
      record('plugIntoSandbox', sandboxKey, peer, cfg);
      k.plugged.push(`${sandboxKey} ${peer}`);
      return `${cfg.prefix}0`;
    },
    async applyChains(chains, jumps, family) {
      record('applyChains', chains.map((c) => c.name).join(','), jumps.map((j) => `${j.from}->${j.to}`).join(','), family);
      for (const c of chains) k.chains.add(`${family}/${c.name}`);
    },
    async deleteChains(names, family) {
      record('deleteChains', names.join(','), family);
      for (const n of names) k.chains.delete(`${family}/${n}`);
    },
    async probePort(t): Promise<ProbeResult> {
      record('probePort', `${t.family}/${t.proto}/${t.hostIp}:${t.hostPort}`);
      return k.busyPorts.has(`${t.family}/${t.proto}/${t.hostPort}`) ? 'in-use' : 'free';
    },
  };
  /** The part of nft's semantics the scripts use: tables, sets and maps with their elements. */
  function applyLine(line: string): void {
    const m = /^(add|delete|flush) (table|set|map|element|chain|rule) inet (\S+)(?: (\S+))?(?: \{ (.*) \})?/.exec(line);
    if (!m) return;
    const [, verb, what, table = '', name = '', body = ''] = m;
    if (what === 'table') {
      if (verb === 'add' && !k.nftTables.has(table)) k.nftTables.set(table, new Map());
      if (verb === 'delete') k.nftTables.delete(table);
      return;
    }
    const t = k.nftTables.get(table);
    if (!t) throw new Error(`fake kernel: nft: no table ${table}`);
    if ((what === 'set' || what === 'map') && verb === 'add' && !t.has(name)) t.set(name, []);
    if (what !== 'element') return;
    const el = body.replaceAll('"', '');
    const els = t.get(name) ?? [];
    if (verb === 'add' && !els.includes(el)) t.set(name, [...els, el]);
    if (verb === 'delete') t.set(name, els.filter((e) => e !== el && !e.startsWith(`${el} : `)));
  }
  function record(name: string, ...args: unknown[]): void {
    const line = [name, ...args.map((a) => (typeof a === 'object' ? JSON.stringify(a) : String(a)))].join(' ');
    k.calls.push(line);
    for (const f of k.failOn) if (line.startsWith(f)) throw new Error(`fake kernel: ${f} fails`);
  }
  return k;
}
