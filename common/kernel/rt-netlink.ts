/**
 * @module {@link RtBackend} over rtnetlink (the `netlink` package), for the process's own network
 * namespace: one request per primitive, no child process. Nested attributes (IFLA_LINKINFO, the
 * veth peer's ifinfomsg, VXLAN/MACVLAN data) are encoded with the package's `ifla` formatters.
 */
import { open } from 'node:fs/promises';
import { AttrStream, FlagsNew, getU32, ifla, putU32, rt, type StreamData } from 'netlink';
import { netnsPath } from './netns.js';
import { Errno } from './rt-errors.js';
import { rtnl, rtnlDump } from './rtnl-socket.js';
import {
  MACVLAN_MODES,
  ROUTE_TYPES,
  RT_TABLE_MAIN,
  RTPROT_BOOT,
  SCOPE_NAMES,
  formatCidr,
  formatIp,
  formatMac,
  parseCidr,
  parseIp,
  parseMac,
} from './rt-codec.js';
import type { FdbSpec, LinkChange, NewLinkSpec, RtBackend } from './rt-backend.js';
import type { AddressInfo, FdbEntry, LinkInfo, MacvlanMode, NeighborInfo, RouteInfo, RouteSpec } from './link-types.js';

const AF_INET = 2;
const AF_INET6 = 10;
const AF_BRIDGE = 7;
const RT_SCOPE_LINK = 253;
const RT_SCOPE_NOWHERE = 255;
const CREATE_EXCL = FlagsNew.CREATE | FlagsNew.EXCL;
const CREATE_REPLACE = FlagsNew.CREATE | FlagsNew.REPLACE;

/** Materialises a nested attribute stream, for the fields the package types as `Buffer`. */
function bytes(data: StreamData): Buffer {
  const s = new AttrStream();
  s.emit(data);
  return Buffer.concat(s.bufs);
}

const af = (family: 4 | 6) => (family === 4 ? AF_INET : AF_INET6);
const family = (afNum: number | undefined): 4 | 6 => (afNum === AF_INET ? 4 : 6);

/** ifinfomsg flags that bring a link up, or leave its state alone. */
function upFlags(up: boolean | undefined): rt.Link {
  return up === undefined ? {} : { flags: up ? { up: true } : {}, change: { up: true } };
}

/** An enum field as a number (the package gives the enum key when it knows the value). */
function enumNum(mapping: Record<string, string | number>, v: string | number | undefined): number {
  if (v === undefined) return 0;
  return typeof v === 'number' ? v : Number(mapping[v] ?? 0);
}

/** A link with its related links still as indices. */
function toLink(m: rt.LinkMessage): LinkInfo {
  const { data, attrs } = m;
  const info = attrs.linkinfo ? ifla.parseInfo(attrs.linkinfo) : undefined;
  const kind = info?.kind ?? (data.flags?.loopback ? 'loopback' : 'device');
  const link: LinkInfo = {
    name: attrs.ifname ?? '',
    index: data.index ?? 0,
    kind,
    mtu: attrs.mtu ?? 0,
    mac: attrs.address ? formatMac(attrs.address) : '',
    up: data.flags?.up === true,
  };
  if (attrs.master) link.masterIndex = attrs.master;
  const lower = attrs.link ? getU32(attrs.link) : undefined;
  if (kind === 'veth' && lower) {
    link.peerIndex = lower;
    if (attrs.linkNetnsid !== undefined) link.peerInOtherNetns = true;
  }
  if (kind === 'macvlan' && info?.data) {
    if (lower) link.parentIndex = lower;
    const mode = ifla.parseMacvlan(info.data).mode ?? 0;
    link.macvlanMode = (Object.keys(MACVLAN_MODES).find((k) => MACVLAN_MODES[k] === mode) ?? 'bridge') as MacvlanMode;
  }
  if (kind === 'vxlan' && info?.data) {
    const v = ifla.parseVxlan(info.data);
    const local = v.local ?? v.local6;
    link.vxlan = { vni: v.id ?? 0, port: v.port ? v.port.readUInt16BE(0) : 0, learning: v.learning === 1, proxy: v.proxy === 1 };
    if (local) link.vxlan.local = formatIp(local);
    if (v.link) link.parentIndex = v.link;
  }
  return link;
}

/** Fills in `master`, `peer` and `parent` names from an index → name lookup. */
async function named(link: LinkInfo, nameOf: (index: number) => Promise<string | undefined>): Promise<LinkInfo> {
  if (link.masterIndex) link.master = await nameOf(link.masterIndex);
  if (link.peerIndex && !link.peerInOtherNetns) link.peer = await nameOf(link.peerIndex);
  if (link.parentIndex) link.parent = await nameOf(link.parentIndex);
  for (const k of ['master', 'peer', 'parent'] as const) if (link[k] === undefined) delete link[k];
  return link;
}

export class NetlinkBackend implements RtBackend {
  readonly netns = undefined;

  async #raw(data: rt.Link, attrs: ifla.LinkAttrs = {}): Promise<rt.LinkMessage | undefined> {
    try {
      const [m] = await rtnl((s) => s.getLink(data, attrs));
      return m;
    } catch (err) {
      if (err instanceof Errno && err.errno === 'ENODEV') return undefined;
      throw err;
    }
  }

  async #index(name: string): Promise<number> {
    const m = await this.#raw({}, { ifname: name });
    if (!m?.data.index) throw new Errno('ENODEV', `Cannot find device "${name}"`);
    return m.data.index;
  }

  /** A dump, and the link names by index to report devices by name. */
  async #dumpNamed(type: rt.MessageType, header: Buffer): Promise<[rt.Message[], Map<number, string>]> {
    const msgs = await rtnlDump(type, [header]);
    const links = await rtnlDump(rt.MessageType.GETLINK, [rt.formatLink({})]);
    return [msgs, new Map(links.flatMap((m) => (m.kind === 'link' ? [[m.data.index ?? 0, m.attrs.ifname ?? '']] : [])))];
  }

  async getLink(name: string): Promise<LinkInfo | undefined> {
    const m = await this.#raw({}, { ifname: name });
    if (!m) return undefined;
    return named(toLink(m), async (index) => (await this.#raw({ index }))?.attrs.ifname);
  }

  async listLinks(): Promise<LinkInfo[]> {
    const msgs = await rtnlDump(rt.MessageType.GETLINK, [rt.formatLink({})]);
    const links = msgs.flatMap((m) => (m.kind === 'link' ? [toLink(m)] : []));
    const names = new Map(links.map((l) => [l.index, l.name]));
    return Promise.all(links.map((l) => named(l, async (i) => names.get(i))));
  }

  async addLink(spec: NewLinkSpec): Promise<void> {
    const attrs: ifla.LinkAttrs = { ifname: spec.name };
    /** Requests that follow the create; if one fails, the new link is deleted again. */
    const after: { up?: string; mtu?: number } = {};
    if (spec.mtu !== undefined && spec.mtuAfterCreate) after.mtu = spec.mtu;
    if (spec.mtu !== undefined && !spec.mtuAfterCreate) attrs.mtu = spec.mtu;
    if (spec.mac !== undefined) attrs.address = parseMac(spec.mac);
    if (spec.master !== undefined) attrs.master = await this.#index(spec.master);
    let data: Buffer | undefined;
    if (spec.peer) {
      const p = spec.peer;
      const peerAttrs: ifla.LinkAttrs = { ifname: p.name };
      if (p.mtu !== undefined) peerAttrs.mtu = p.mtu;
      if (p.mac !== undefined) peerAttrs.address = parseMac(p.mac);
      // VETH_INFO_PEER holds a whole ifinfomsg followed by the peer's own IFLA_* attributes. Its
      // IFF_UP cannot be set here: the kernel opens the peer before pairing it (ENOTCONN).
      const peer = Buffer.concat([rt.formatLink({}), bytes(ifla.formatLinkAttrs(peerAttrs))]);
      data = bytes(ifla.formatVethInfo({ peer }));
      if (p.up) after.up = p.name;
    }
    if (spec.vxlan) {
      const v = spec.vxlan;
      const port = Buffer.alloc(2);
      port.writeUInt16BE(v.port);
      const vx: ifla.Vxlan = { id: v.vni, port, learning: v.learning ? 1 : 0, proxy: v.proxy ? 1 : 0 };
      if (v.local !== undefined) {
        const ip = parseIp(v.local);
        if (ip.family === 4) vx.local = ip.bytes;
        else vx.local6 = ip.bytes;
      }
      if (v.dev !== undefined) vx.link = await this.#index(v.dev);
      data = bytes(ifla.formatVxlan(vx));
    }
    if (spec.macvlan) {
      attrs.link = putU32(await this.#index(spec.macvlan.parent));
      data = bytes(ifla.formatMacvlan({ mode: MACVLAN_MODES[spec.macvlan.mode] ?? 0 }));
    }
    attrs.linkinfo = bytes(ifla.formatInfo(data ? { kind: spec.kind, data } : { kind: spec.kind }));
    await rtnl((s) => s.newLink(upFlags(spec.up), attrs, { flags: CREATE_EXCL }));
    if (after.up !== undefined || after.mtu !== undefined) {
      try {
        if (after.up !== undefined) await this.setLink(after.up, { up: true });
        if (after.mtu !== undefined) await this.setLink(spec.name, { mtu: after.mtu });
      } catch (err) {
        await this.delLink(spec.name).catch(() => undefined);
        throw err;
      }
    }
  }

  async setLink(name: string, change: LinkChange): Promise<void> {
    // With ifi_index 0 the kernel finds the link by IFLA_IFNAME: one request, no lookup.
    const attrs: ifla.LinkAttrs = { ifname: name };
    if (change.mtu !== undefined) attrs.mtu = change.mtu;
    if (change.mac !== undefined) attrs.address = parseMac(change.mac);
    if (change.master !== undefined) attrs.master = change.master === null ? 0 : await this.#index(change.master);
    await rtnl((s) => s.setLink(upFlags(change.up), attrs));
  }

  async moveLink(name: string, netns: string, newName?: string): Promise<void> {
    let fd;
    try {
      fd = await open(netnsPath(netns), 'r');
    } catch (err) {
      throw new Errno('ENONETNS', `Cannot open network namespace "${netns}"`, { cause: err });
    }
    try {
      // Renaming needs the index (IFLA_IFNAME then carries the new name); the kernel applies
      // the new name inside the target namespace, in the same request.
      const index = newName === undefined ? 0 : await this.#index(name);
      const attrs: ifla.LinkAttrs = { ifname: newName ?? name, netNsFd: fd.fd };
      await rtnl((s) => s.setLink({ index }, attrs));
    } finally {
      await fd.close();
    }
  }

  async delLink(name: string): Promise<void> {
    await rtnl((s) => s.delLink({}, { ifname: name }));
  }

  async listAddresses(): Promise<Array<AddressInfo & { dev: string }>> {
    const [msgs, names] = await this.#dumpNamed(rt.MessageType.GETADDR, rt.formatAddress({}));
    return msgs.flatMap((m) => {
      if (m.kind !== 'address') return [];
      const ip = m.attrs.local ?? m.attrs.address;
      if (!ip) return [];
      const prefixLength = m.data.prefixlen ?? 0;
      const address = formatIp(ip);
      const scope = m.data.scope ?? 0;
      return [{ dev: names.get(m.data.index ?? 0) ?? '', family: family(m.data.family), address, prefixLength, cidr: `${address}/${prefixLength}`, scope: SCOPE_NAMES[scope] ?? scope }];
    });
  }

  async #address(dev: string, cidr: string): Promise<[rt.Address, rt.AddressAttrs]> {
    const c = parseCidr(cidr);
    return [
      { family: af(c.family), prefixlen: c.prefixLength, index: await this.#index(dev) },
      { local: c.bytes, address: c.bytes },
    ];
  }

  async replaceAddress(dev: string, cidr: string, nodad: boolean): Promise<void> {
    const [data, attrs] = await this.#address(dev, cidr);
    if (nodad) data.flags = { nodad: true };
    await rtnl((s) => s.newAddress(data, attrs, { flags: CREATE_REPLACE }));
  }

  async delAddress(dev: string, cidr: string): Promise<void> {
    const [data, attrs] = await this.#address(dev, cidr);
    await rtnl((s) => s.delAddress(data, attrs));
  }

  async listRoutes(): Promise<RouteInfo[]> {
    const [msgs, names] = await this.#dumpNamed(rt.MessageType.GETROUTE, rt.formatRoute({}));
    return msgs.flatMap((m) => {
      if (m.kind !== 'route' || m.data.flags?.cloned) return [];
      const fam = family(m.data.family);
      const dstLen = m.data.dstLen ?? 0;
      const dst = m.attrs.dst ?? Buffer.alloc(fam === 4 ? 4 : 16);
      const r: RouteInfo = {
        family: fam,
        dst: formatCidr({ bytes: dst, prefixLength: dstLen }),
        type: ROUTE_TYPES[enumNum(rt.RouteType, m.data.type)] ?? String(m.data.type),
        table: m.attrs.table ?? m.data.table ?? 0,
        protocol: enumNum(rt.RouteProtocol, m.data.protocol),
        scope: enumNum(rt.RouteScope, m.data.scope),
      };
      if (m.attrs.gateway) r.via = formatIp(m.attrs.gateway);
      if (m.attrs.oif) r.dev = names.get(m.attrs.oif);
      if (m.attrs.priority !== undefined) r.metric = m.attrs.priority;
      return [r];
    });
  }

  async #route(route: RouteSpec, del: boolean): Promise<[rt.Route, rt.RouteAttrs]> {
    const c = parseCidr(route.dst);
    const type = ROUTE_TYPES.indexOf(route.type ?? 'unicast');
    const table = route.table ?? RT_TABLE_MAIN;
    const data: rt.Route = {
      family: af(c.family),
      dstLen: c.prefixLength,
      table: table < 256 ? table : 0,
      type,
      // As `ip route`: a delete matches any scope; a direct route (no gateway) is link scope.
      scope: del ? RT_SCOPE_NOWHERE : type === 1 && route.via === undefined ? RT_SCOPE_LINK : 0,
      protocol: (del ? 0 : RTPROT_BOOT) as rt.RouteProtocol,
    };
    const attrs: rt.RouteAttrs = { table };
    if (c.prefixLength > 0) attrs.dst = c.bytes;
    if (route.via !== undefined) attrs.gateway = parseIp(route.via).bytes;
    if (route.dev !== undefined) attrs.oif = await this.#index(route.dev);
    if (route.metric !== undefined) attrs.priority = route.metric;
    return [data, attrs];
  }

  async replaceRoute(route: RouteSpec): Promise<void> {
    const [data, attrs] = await this.#route(route, false);
    await rtnl((s) => s.newRoute(data, attrs, { flags: CREATE_REPLACE }));
  }

  async delRoute(route: RouteSpec): Promise<void> {
    const [data, attrs] = await this.#route(route, true);
    await rtnl((s) => s.delRoute(data, attrs));
  }

  async listNeighbors(): Promise<NeighborInfo[]> {
    const [msgs, names] = await this.#dumpNamed(rt.MessageType.GETNEIGH, rt.formatNeighbor({}));
    return msgs.flatMap((m) => {
      if (m.kind !== 'neighbor' || !m.attrs.dst || (m.data.family !== AF_INET && m.data.family !== AF_INET6)) return [];
      // Like `ip neigh show`: leave out the kernel's NOARP entries (multicast, …).
      if (m.data.state?.noarp) return [];
      const n: NeighborInfo = { dev: names.get(m.data.ifindex ?? 0) ?? '', ip: formatIp(m.attrs.dst), permanent: m.data.state?.permanent === true };
      if (m.attrs.lladdr) n.mac = formatMac(m.attrs.lladdr);
      return [n];
    });
  }

  async replaceNeighbor(dev: string, ip: string, mac: string): Promise<void> {
    const addr = parseIp(ip);
    const data: rt.Neighbor = { family: af(addr.family), ifindex: await this.#index(dev), state: { permanent: true } };
    await rtnl((s) => s.newNeighbor(data, { dst: addr.bytes, lladdr: parseMac(mac) }, { flags: CREATE_REPLACE }));
  }

  async delNeighbor(dev: string, ip: string): Promise<void> {
    const addr = parseIp(ip);
    const ifindex = await this.#index(dev);
    await rtnl((s) => s.delNeighbor({ family: af(addr.family), ifindex }, { dst: addr.bytes }));
  }

  async listFdb(): Promise<FdbEntry[]> {
    const [msgs, names] = await this.#dumpNamed(rt.MessageType.GETNEIGH, rt.formatNeighbor({ family: AF_BRIDGE }));
    return msgs.flatMap((m) => {
      if (m.kind !== 'neighbor' || m.data.family !== AF_BRIDGE || !m.attrs.lladdr) return [];
      const e: FdbEntry = {
        dev: names.get(m.data.ifindex ?? 0) ?? '',
        mac: formatMac(m.attrs.lladdr),
        self: m.data.flags?.self === true,
        permanent: m.data.state?.permanent === true,
      };
      if (m.attrs.dst) e.dst = formatIp(m.attrs.dst);
      return [e];
    });
  }

  async #fdb(entry: FdbSpec): Promise<[rt.Neighbor, rt.NeighborAttrs]> {
    const data: rt.Neighbor = { family: AF_BRIDGE, ifindex: await this.#index(entry.dev), state: { permanent: true }, flags: { self: true } };
    const attrs: rt.NeighborAttrs = { lladdr: parseMac(entry.mac) };
    if (entry.dst !== undefined) attrs.dst = parseIp(entry.dst).bytes;
    return [data, attrs];
  }

  async addFdb(entry: FdbSpec, mode: 'append' | 'replace'): Promise<void> {
    const [data, attrs] = await this.#fdb(entry);
    const flags = FlagsNew.CREATE | (mode === 'append' ? FlagsNew.APPEND : FlagsNew.REPLACE);
    await rtnl((s) => s.newNeighbor(data, attrs, { flags }));
  }

  async delFdb(entry: FdbSpec): Promise<void> {
    const [data, attrs] = await this.#fdb(entry);
    await rtnl((s) => s.delNeighbor(data, attrs));
  }
}
