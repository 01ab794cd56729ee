/**
 * @module {@link RtBackend} over the `ip` and `bridge` programs, for work inside another network
 * namespace (`-n NAME`); Node cannot enter one itself. One process per primitive: reads use
 * `-json`, and a create that needs several steps runs them as one `ip -batch -`.
 */
import { CommandError, run } from './exec.js';
import { Errno, errnoFromText } from './rt-errors.js';
import { ROUTE_TYPES, RT_TABLE_MAIN, canonicalIp, canonicalMac, parseCidr } from './rt-codec.js';
import type { FdbSpec, LinkChange, NewLinkSpec, RtBackend } from './rt-backend.js';
import type { AddressInfo, FdbEntry, LinkInfo, MacvlanMode, NeighborInfo, RouteInfo, RouteSpec } from './link-types.js';

interface IpLink {
  ifindex: number;
  ifname: string;
  flags?: string[];
  mtu?: number;
  address?: string;
  link_type?: string;
  master?: string;
  link?: string;
  link_index?: number;
  link_netnsid?: number;
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> };
}

interface IpAddrLink {
  ifname: string;
  addr_info?: Array<{ family: string; local: string; prefixlen: number; scope: string }>;
}

interface IpRoute {
  type?: string;
  dst: string;
  gateway?: string;
  dev?: string;
  table?: string;
  protocol?: string;
  scope?: string;
  metric?: number;
}

interface IpNeigh {
  dst: string;
  dev: string;
  lladdr?: string;
  state?: string[];
}

interface IpFdb {
  mac: string;
  ifname: string;
  dst?: string;
  flags?: string[];
  state?: string;
}

/** The words of a route for `ip route add|replace|del`. */
function routeArgs(r: RouteSpec): string[] {
  const args = [r.type ?? 'unicast', r.dst];
  if (r.via !== undefined) args.push('via', r.via);
  if (r.dev !== undefined) args.push('dev', r.dev);
  args.push('table', String(r.table ?? RT_TABLE_MAIN));
  if (r.metric !== undefined) args.push('metric', String(r.metric));
  return args;
}

function fdbArgs(e: FdbSpec): string[] {
  return [e.mac, 'dev', e.dev, ...(e.dst === undefined ? [] : ['dst', e.dst]), 'self'];
}

/** `ip link add` words for a spec, and the follow-up batch lines that finish it. */
function addLinkLines(spec: NewLinkSpec): string[][] {
  const add = ['link', 'add', spec.name];
  if (spec.mtu !== undefined && !spec.mtuAfterCreate) add.push('mtu', String(spec.mtu));
  if (spec.mac !== undefined) add.push('address', spec.mac);
  if (spec.master !== undefined) add.push('master', spec.master);
  if (spec.macvlan) add.push('link', spec.macvlan.parent);
  if (spec.up) add.push('up');
  add.push('type', spec.kind);
  const more: string[][] = [];
  if (spec.peer) {
    const p = spec.peer;
    add.push('peer', 'name', p.name);
    if (p.mtu !== undefined) add.push('mtu', String(p.mtu));
    if (p.mac !== undefined) add.push('address', p.mac);
    // The peer cannot be created up: the kernel opens it before pairing it (ENOTCONN).
    if (p.up) more.push(['link', 'set', 'dev', p.name, 'up']);
  }
  if (spec.vxlan) {
    const v = spec.vxlan;
    add.push('id', String(v.vni), 'dstport', String(v.port), v.learning ? 'learning' : 'nolearning', v.proxy ? 'proxy' : 'noproxy');
    if (v.local !== undefined) add.push('local', v.local);
    if (v.dev !== undefined) add.push('dev', v.dev);
  }
  if (spec.macvlan) add.push('mode', spec.macvlan.mode);
  if (spec.mtuAfterCreate && spec.mtu !== undefined) more.push(['link', 'set', 'dev', spec.name, 'mtu', String(spec.mtu)]);
  return [add, ...more];
}

function toRoute(r: IpRoute, family: 4 | 6): RouteInfo {
  const dst = r.dst === 'default' ? (family === 4 ? '0.0.0.0/0' : '::/0') : r.dst;
  const c = parseCidr(dst);
  const out: RouteInfo = {
    family,
    dst: `${canonicalIp(dst.split('/')[0] ?? dst)}/${c.prefixLength}`,
    type: ROUTE_TYPES[Number(r.type ?? 1)] ?? String(r.type),
    table: Number(r.table ?? RT_TABLE_MAIN),
    protocol: Number(r.protocol ?? 3),
    scope: Number(r.scope ?? 0),
  };
  if (r.gateway !== undefined) out.via = canonicalIp(r.gateway);
  if (r.dev !== undefined) out.dev = r.dev;
  if (r.metric !== undefined) out.metric = r.metric;
  return out;
}

/** Which line of an `ip -batch` failed ("Command failed -:N"), 0 if unknown. */
function failedBatchLine(err: unknown): number {
  const stderr = err instanceof Errno && err.cause instanceof CommandError ? err.cause.stderr : '';
  return Number(/Command failed -:(\d+)/.exec(stderr)?.[1] ?? 0);
}

export class IpRoute2Backend implements RtBackend {
  readonly netns: string | undefined;

  constructor(netns?: string) {
    this.netns = netns;
  }

  /** Runs `prog [-n NS] args…`; a failure becomes {@link Errno} read from stderr. */
  async #exec(prog: 'ip' | 'bridge', args: readonly string[], input?: string): Promise<string> {
    const argv = [prog, ...(this.netns === undefined ? [] : ['-n', this.netns]), ...args];
    try {
      const opts = { object: `${prog} ${args.join(' ')}`, step: 'run' };
      return (await run(argv, input === undefined ? opts : { ...opts, input })).stdout;
    } catch (err) {
      if (err instanceof CommandError) throw errnoFromText(err.stderr, err);
      throw err;
    }
  }

  async #json<T>(prog: 'ip' | 'bridge', args: readonly string[]): Promise<T[]> {
    const out = await this.#exec(prog, ['-json', ...args]);
    return out.trim() === '' ? [] : (JSON.parse(out) as T[]);
  }

  /** Runs the lines in one `ip -batch -`, or as one plain `ip` when there is one line. */
  async #batch(lines: string[][]): Promise<void> {
    if (lines.length === 1 && lines[0]) await this.#exec('ip', lines[0]);
    else await this.#exec('ip', ['-batch', '-'], lines.map((l) => l.join(' ')).join('\n') + '\n');
  }

  async listLinks(): Promise<LinkInfo[]> {
    const raw = await this.#json<IpLink>('ip', ['-details', 'link', 'show']);
    const indexOf = new Map(raw.map((l) => [l.ifname, l.ifindex]));
    return raw.map((l) => {
      const kind = l.linkinfo?.info_kind ?? (l.link_type === 'loopback' ? 'loopback' : 'device');
      const data = l.linkinfo?.info_data ?? {};
      const link: LinkInfo = {
        name: l.ifname,
        index: l.ifindex,
        kind,
        mtu: l.mtu ?? 0,
        mac: l.address ?? '',
        up: l.flags?.includes('UP') === true,
      };
      if (l.master !== undefined) Object.assign(link, { master: l.master, masterIndex: indexOf.get(l.master) });
      const lowerIndex = l.link !== undefined ? indexOf.get(l.link) : l.link_index;
      if (kind === 'veth' && lowerIndex !== undefined) {
        link.peerIndex = lowerIndex;
        if (l.link !== undefined) link.peer = l.link;
        if (l.link_netnsid !== undefined) link.peerInOtherNetns = true;
      }
      if (kind === 'macvlan') {
        if (l.link !== undefined) Object.assign(link, { parent: l.link, parentIndex: lowerIndex });
        link.macvlanMode = String(data.mode ?? 'bridge') as MacvlanMode;
      }
      if (kind === 'vxlan') {
        link.vxlan = { vni: Number(data.id ?? 0), port: Number(data.port ?? 0), learning: data.learning === true, proxy: data.proxy === true };
        const local = data.local ?? data.local6;
        if (typeof local === 'string') link.vxlan.local = canonicalIp(local);
        if (typeof data.link === 'string') Object.assign(link, { parent: data.link, parentIndex: indexOf.get(data.link) });
      }
      return link;
    });
  }

  async getLink(name: string): Promise<LinkInfo | undefined> {
    return (await this.listLinks()).find((l) => l.name === name);
  }

  async addLink(spec: NewLinkSpec): Promise<void> {
    const lines = addLinkLines(spec);
    try {
      await this.#batch(lines);
    } catch (err) {
      // A line after `link add` failed: the link exists, half set up. Take it away again.
      if (lines.length > 1 && failedBatchLine(err) > 1) await this.delLink(spec.name).catch(() => undefined);
      throw err;
    }
  }

  async setLink(name: string, change: LinkChange): Promise<void> {
    const args = ['link', 'set', 'dev', name];
    if (change.mtu !== undefined) args.push('mtu', String(change.mtu));
    if (change.mac !== undefined) args.push('address', change.mac);
    if (change.master === null) args.push('nomaster');
    else if (change.master !== undefined) args.push('master', change.master);
    if (change.up !== undefined) args.push(change.up ? 'up' : 'down');
    await this.#exec('ip', args);
  }

  async moveLink(name: string, netns: string, newName?: string): Promise<void> {
    await this.#exec('ip', ['link', 'set', 'dev', name, 'netns', netns, ...(newName === undefined ? [] : ['name', newName])]);
  }

  async delLink(name: string): Promise<void> {
    await this.#exec('ip', ['link', 'del', 'dev', name]);
  }

  async listAddresses(): Promise<Array<AddressInfo & { dev: string }>> {
    const links = await this.#json<IpAddrLink>('ip', ['addr', 'show']);
    return links.flatMap((l) =>
      (l.addr_info ?? []).map((a) => {
        const address = canonicalIp(a.local);
        const scope = /^\d+$/.test(a.scope) ? Number(a.scope) : (a.scope as AddressInfo['scope']);
        return { dev: l.ifname, family: a.family === 'inet' ? 4 : 6, address, prefixLength: a.prefixlen, cidr: `${address}/${a.prefixlen}`, scope } as const;
      }),
    );
  }

  async replaceAddress(dev: string, cidr: string, nodad: boolean): Promise<void> {
    await this.#exec('ip', ['addr', 'replace', cidr, 'dev', dev, ...(nodad ? ['nodad'] : [])]);
  }

  async delAddress(dev: string, cidr: string): Promise<void> {
    await this.#exec('ip', ['addr', 'del', cidr, 'dev', dev]);
  }

  async listRoutes(): Promise<RouteInfo[]> {
    // The JSON has no family field and prints "default" for both: ask per family.
    const [v4, v6] = await Promise.all(
      (['-4', '-6'] as const).map((f) => this.#json<IpRoute>('ip', [f, '-N', '-d', 'route', 'show', 'table', 'all'])),
    );
    return [...(v4 ?? []).map((r) => toRoute(r, 4)), ...(v6 ?? []).map((r) => toRoute(r, 6))];
  }

  async replaceRoute(route: RouteSpec): Promise<void> {
    await this.#exec('ip', ['route', 'replace', ...routeArgs(route)]);
  }

  async delRoute(route: RouteSpec): Promise<void> {
    await this.#exec('ip', ['route', 'del', ...routeArgs(route)]);
  }

  async listNeighbors(): Promise<NeighborInfo[]> {
    const raw = await this.#json<IpNeigh>('ip', ['neigh', 'show']);
    return raw.map((n) => {
      const out: NeighborInfo = { dev: n.dev, ip: canonicalIp(n.dst), permanent: n.state?.includes('PERMANENT') === true };
      if (n.lladdr !== undefined) out.mac = canonicalMac(n.lladdr);
      return out;
    });
  }

  async replaceNeighbor(dev: string, ip: string, mac: string): Promise<void> {
    await this.#exec('ip', ['neigh', 'replace', ip, 'lladdr', mac, 'dev', dev, 'nud', 'permanent']);
  }

  async delNeighbor(dev: string, ip: string): Promise<void> {
    await this.#exec('ip', ['neigh', 'del', ip, 'dev', dev]);
  }

  async listFdb(): Promise<FdbEntry[]> {
    const raw = await this.#json<IpFdb>('bridge', ['fdb', 'show']);
    return raw.map((e) => {
      const out: FdbEntry = { dev: e.ifname, mac: canonicalMac(e.mac), self: e.flags?.includes('self') === true, permanent: e.state === 'permanent' };
      if (e.dst !== undefined) out.dst = canonicalIp(e.dst);
      return out;
    });
  }

  async addFdb(entry: FdbSpec, mode: 'append' | 'replace'): Promise<void> {
    await this.#exec('bridge', ['fdb', mode, ...fdbArgs(entry), 'permanent']);
  }

  async delFdb(entry: FdbSpec): Promise<void> {
    await this.#exec('bridge', ['fdb', 'del', ...fdbArgs(entry)]);
  }
}
