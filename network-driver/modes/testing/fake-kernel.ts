/**
 * @module The ONE recording fake of the modes' kernel seam ({@link ModeKernel}) for unit tests of every
 * mode: a small model of links (with masters, macvlan/VLAN parents and VXLAN settings), addresses,
 * routes and sysctls; every nft script and iptables change kept as data; FDB and neighbour entries;
 * ports that a "host process" holds; failures injected by call name. It models what the modes rely on
 * of the kernel: a child needs its parent (ENODEV), a passthru macvlan is alone on its parent (EINVAL),
 * deleting a link takes its addresses, routes and macvlan/VLAN children along, 802.1Q may be missing.
 * No root, no kernel. Test-only.
 */
import { KernelFeatureMissingError } from '../../../common/kernel/errors.js';
import type { AddressInfo, LinkInfo, RouteInfo, RouteSpec } from '../../../common/kernel/link-types.js';
import { LinkConflictError, RtnlError } from '../../../common/kernel/rt-errors.js';
import type { ProbeResult } from '../bridge-core/port-probe.js';
import type { ModeKernel } from '../kernel.js';
import { changeLine, type XfrmPolicy, type XfrmState } from '../../../common/kernel/xfrm.js';

export interface FakeKernel extends ModeKernel {
  /** Every call, as `name arg1 arg2…` (objects as JSON). */
  calls: string[];
  /** The calls that change something (not `find…`, `list…`, probes or reads), in order. */
  changes(): string[];
  links: Map<string, LinkInfo>;
  addresses: Map<string, string[]>;
  /** The main table: the uplink's default route (unless made without one), then routes the modes added. */
  routes: RouteInfo[];
  sysctls: Map<string, string>;
  /** `dev mac` → VTEP. */
  fdb: Map<string, string>;
  /** `dev ip` → MAC. */
  neighbors: Map<string, string>;
  /** Whether `ensureVlan` works (default false, as on the test machine's kernel without 8021q). */
  vlanSupported: boolean;
  /** Whether ESP with AES-GCM works (default true; the test machine's kernel has neither). */
  espSupported: boolean;
  /** xfrm states, `src dst spi` → state with its key. */
  xfrmStates: Map<string, XfrmState>;
  /** xfrm policies, `src dst dport dir` → policy. */
  xfrmPolicies: Map<string, XfrmPolicy>;
  /** Bytes sent per SPI, as a test sets them (read by xfrmBytes). */
  xfrmCounters: Map<number, number>;
  /** Adds a host interface (a test's stand-in for a NIC: up, MTU 1500). */
  addDevice(name: string, props?: Partial<LinkInfo>): void;
  /** Every nft script applied, in order. */
  scripts: string[][];
  /** The nftables tables the scripts left, as table → set or map → elements (interface names unquoted). */
  nftTables: Map<string, Map<string, string[]>>;
  /** Endpoints plugged into sandboxes by plugIntoSandbox, as `sandboxKey peer`. */
  plugged: string[];
  /** The links inside containers, by sandbox key (a test moves a joined interface in, as dockerd does); plugIntoSandbox moves a known link there. */
  sandboxes: Map<string, LinkInfo[]>;
  /** Handoff chains present, as `family/NAME`. */
  chains: Set<string>;
  /** Host ports a process listens on, as `family/proto/port`. */
  busyPorts: Set<string>;
  /** Calls that throw: a call fails when its recorded line starts with an entry (`nft`, `ensureSysctl net.bridge`). */
  failOn: Set<string>;
}

const UPLINK: LinkInfo = { name: 'eth0', index: 2, kind: 'device', mtu: 1400, mac: '02:fc:00:00:00:01', up: true };
const DEFAULT_ROUTE: RouteInfo = { family: 4, dst: '0.0.0.0/0', via: '192.0.2.1', dev: 'eth0', type: 'unicast', table: 254, protocol: 3, scope: 0 };

const READS = /^(find|list|probe|nftElements|sandboxLinks|addressesByLink)/;

/** The interface a per-interface sysctl belongs to (`net/ipv4/conf/X/…`, `net.ipv6.conf.X.…`), else undefined (a host-wide one). */
export function interfaceOfSysctl(key: string): string | undefined {
  const m = /^net[./]ipv[46][./]conf[./]([^./]+)[./]/.exec(key);
  return m && m[1] !== 'all' && m[1] !== 'default' ? m[1] : undefined;
}

/**
 * A fake host. By default it has `eth0` (MTU 1400) carrying the default route, as bridge and overlay
 * tests want; `{ uplink: false }` makes a host with no links and no routes (macvlan tests add their
 * parent NIC with {@link FakeKernel.addDevice}).
 */
export function fakeKernel(opts: { uplink?: boolean } = {}): FakeKernel {
  const uplink = opts.uplink ?? true;
  let index = 10;
  const entries = <T>(m: Map<string, string>, dev: string, f: (key: string, value: string) => T) =>
    [...m].filter(([key]) => key.startsWith(`${dev} `)).map(([key, v]) => f(key.slice(dev.length + 1), v));
  const route = (r: RouteSpec): RouteInfo => ({ family: r.dst.includes(':') ? 6 : 4, dst: r.dst, type: 'unicast', table: 254, protocol: 3, scope: 253, ...(r.dev === undefined ? {} : { dev: r.dev }) });
  const noDevice = (object: string, op: string) => new RtnlError(object, op, 'ENODEV', 'No such device');
  const k: FakeKernel = {
    calls: [],
    changes: () => k.calls.filter((c) => !READS.test(c)),
    links: new Map(uplink ? [[UPLINK.name, { ...UPLINK }]] : []),
    addresses: new Map(),
    routes: uplink ? [{ ...DEFAULT_ROUTE }] : [],
    sysctls: new Map(),
    fdb: new Map(),
    neighbors: new Map(),
    vlanSupported: false,
    espSupported: true,
    xfrmStates: new Map(),
    xfrmPolicies: new Map(),
    xfrmCounters: new Map(),
    addDevice(name, props = {}) {
      k.links.set(name, { name, index: index++, kind: 'veth', mtu: 1500, mac: '02:00:00:00:00:01', up: true, ...props });
    },
    scripts: [],
    nftTables: new Map(),
    plugged: [],
    sandboxes: new Map(),
    chains: new Set(),
    busyPorts: new Set(),
    failOn: new Set(),
    async findLink(name) {
      record('findLink', name);
      return k.links.get(name);
    },
    async listLinks(prefix = '') {
      record('listLinks', prefix);
      return [...k.links.values()].filter((l) => l.name.startsWith(prefix)).sort((a, b) => a.name.localeCompare(b.name)).map((l) => ({ ...l }));
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
      removeLink(name);
    },
    async deleteLinkOutOfProcess(name) {
      record('deleteLinkOutOfProcess', name);
      removeLink(name);
    },
    async ensureAddress(link, cidr) {
      record('ensureAddress', link, cidr);
      if (!k.links.has(link)) throw noDevice(`address ${cidr}`, 'add');
      const have = k.addresses.get(link) ?? [];
      if (!have.includes(cidr)) k.addresses.set(link, [...have, cidr]);
    },
    async listRoutes(family) {
      record('listRoutes', family);
      return k.routes.filter((r) => family === undefined || r.family === family).map((r) => ({ ...r }));
    },
    async ensureRoute(r) {
      record('ensureRoute', r.dst, r.dev);
      if (r.dev !== undefined && !k.links.has(r.dev)) throw noDevice(`route ${r.dst}`, 'add');
      k.routes = [...k.routes.filter((x) => x.dst !== r.dst), route(r)];
    },
    async deleteRoute(r) {
      record('deleteRoute', r.dst, r.dev);
      k.routes = k.routes.filter((x) => !(x.dst === r.dst && (r.dev === undefined || x.dev === r.dev)));
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
      return listed(link);
    },
    async addressesByLink() {
      record('addressesByLink');
      const out = new Map<string, AddressInfo[]>();
      for (const link of k.addresses.keys()) out.set(link, await listed(link));
      return out;
    },
    async nftElements(table) {
      record('nftElements', table);
      const t = k.nftTables.get(table);
      return t && new Map([...t].map(([set, els]) => [set, [...els]]));
    },
    async plugIntoSandbox(sandboxKey, peer, cfg) {
      record('plugIntoSandbox', sandboxKey, peer, cfg);
      k.plugged.push(`${sandboxKey} ${peer}`);
      const link = k.links.get(peer);
      const inside = k.sandboxes.get(sandboxKey);
      if (link && inside) {
        k.links.delete(peer);
        inside.push({ ...link, name: `${cfg.prefix}${inside.length}`, ...(cfg.mac ? { mac: cfg.mac } : {}), up: true });
      }
      return `${cfg.prefix}0`;
    },
    async sandboxLinks(sandboxKey) {
      record('sandboxLinks', sandboxKey);
      return k.sandboxes.get(sandboxKey)?.map((l) => ({ ...l }));
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
    async ensureMacvlan(name, parent, mode, o) {
      record('ensureMacvlan', name, parent, mode, o);
      const have = k.links.get(name);
      if (have) {
        if (have.kind !== 'macvlan' || have.parent !== parent || have.macvlanMode !== mode) throw new LinkConflictError(`macvlan "${name}"`, 'differs');
      } else {
        const p = k.links.get(parent);
        if (!p) throw new RtnlError(`macvlan "${name}"`, 'create', 'ENODEV', 'No such device');
        const siblings = [...k.links.values()].filter((l) => l.kind === 'macvlan' && l.parent === parent);
        if (siblings.some((l) => l.macvlanMode === 'passthru') || (mode === 'passthru' && siblings.length > 0)) {
          throw new RtnlError(`macvlan "${name}"`, 'create', 'EINVAL', 'Invalid argument');
        }
        const mac = mode === 'passthru' ? p.mac : '02:00:00:00:00:99';
        k.links.set(name, { name, index: index++, kind: 'macvlan', parent, macvlanMode: mode, mtu: p.mtu, mac, up: false });
      }
      const l = k.links.get(name)!;
      if (o.mtu !== undefined) l.mtu = o.mtu;
      if (o.mac !== undefined) l.mac = o.mac;
      if (o.up ?? true) l.up = true;
    },
    async ensureVlan(name, parent, vid, o) {
      record('ensureVlan', name, parent, vid, o);
      if (!k.vlanSupported) throw new KernelFeatureMissingError('8021q', `cannot create vlan "${name}"`);
      const p = k.links.get(parent);
      if (!p) throw noDevice(`vlan "${name}"`, 'create');
      if (!k.links.has(name)) k.links.set(name, { name, index: index++, kind: 'vlan', parent, mtu: p.mtu, mac: p.mac, up: o.up ?? true });
    },
    async setUp(name) {
      record('setUp', name);
      const l = k.links.get(name);
      if (!l) throw noDevice(`link "${name}"`, 'bring up');
      l.up = true;
    },
    async ensureVxlan(name, o) {
      record('ensureVxlan', name, o);
      const vxlan = { vni: o.vni, port: o.port, learning: false, proxy: o.proxy ?? false, ...(o.local ? { local: o.local } : {}) };
      k.links.set(name, { name, index: index++, kind: 'vxlan', mtu: o.mtu ?? 1500, mac: o.mac ?? '', up: true, ...(o.master ? { master: o.master } : {}), vxlan });
    },
    async listFdb(dev) {
      record('listFdb', dev);
      return entries(k.fdb, dev, (mac, dst) => ({ dev, mac, dst, self: true, permanent: true }));
    },
    async ensureFdb(dev, mac, vtep) {
      record('ensureFdb', dev, mac, vtep);
      k.fdb.set(`${dev} ${mac}`, vtep);
    },
    async deleteFdb(dev, mac) {
      record('deleteFdb', dev, mac);
      k.fdb.delete(`${dev} ${mac}`);
    },
    async listNeighbors(dev) {
      record('listNeighbors', dev);
      return entries(k.neighbors, dev, (ip, mac) => ({ dev, ip, mac, permanent: true }));
    },
    async ensureNeighbor(dev, ip, mac) {
      record('ensureNeighbor', dev, ip, mac);
      k.neighbors.set(`${dev} ${ip}`, mac);
    },
    async deleteNeighbor(dev, ip) {
      record('deleteNeighbor', dev, ip);
      k.neighbors.delete(`${dev} ${ip}`);
    },
    async requireEspAead() {
      record('probeEspAead');
      if (!k.espSupported) throw new KernelFeatureMissingError('xfrm-esp-aead', 'encrypted overlays need IPsec ESP (CONFIG_INET_ESP / CONFIG_INET6_ESP), which this kernel lacks');
    },
    async listXfrm() {
      record('listXfrm');
      return { states: [...k.xfrmStates.values()].map(({ key: _key, ...s }) => s), policies: [...k.xfrmPolicies.values()] };
    },
    async applyXfrm(changes) {
      // Recorded without the keys, as the real one never shows them.
      record('applyXfrm', changes.map((c) => changeLine(c).replace(/ aead .*$/, '')));
      for (const c of changes) {
        if ('add' in c && c.add === 'state') k.xfrmStates.set(`${c.state.src} ${c.state.dst} ${c.state.spi}`, { ...c.state });
        else if ('del' in c && c.del === 'state') k.xfrmStates.delete(`${c.state.src} ${c.state.dst} ${c.state.spi}`);
        else if ('add' in c) k.xfrmPolicies.set(`${c.policy.src} ${c.policy.dst} ${c.policy.dport} ${c.policy.dir}`, { ...c.policy });
        else k.xfrmPolicies.delete(`${c.policy.src} ${c.policy.dst} ${c.policy.dport} ${c.policy.dir}`);
      }
    },
    async xfrmBytes() {
      record('listXfrmBytes');
      return new Map(k.xfrmCounters);
    },
  };
  /** The addresses of `link` as the kernel lists them. */
  async function listed(link: string): Promise<AddressInfo[]> {
    return (k.addresses.get(link) ?? []).map((cidr) => {
      const [address = '', len = '0'] = cidr.split('/');
      return { family: address.includes(':') ? 6 : 4, address, prefixLength: Number(len), cidr, scope: 'global' as const };
    });
  }
  /** Deletes a link as the kernel does: with its addresses, routes, FDB and neighbour entries, and its macvlan and VLAN children. */
  function removeLink(name: string): void {
    if (!k.links.delete(name)) return;
    k.addresses.delete(name);
    k.routes = k.routes.filter((r) => r.dev !== name);
    for (const m of [k.fdb, k.neighbors]) for (const key of [...m.keys()]) if (key.startsWith(`${name} `)) m.delete(key);
    for (const key of [...k.sysctls.keys()]) if (interfaceOfSysctl(key) === name) k.sysctls.delete(key);
    for (const child of [...k.links.values()].filter((l) => l.parent === name)) removeLink(child.name);
  }
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
