/**
 * @module A recording, in-memory stand-in for the kernel operations macvlan mode uses
 * ({@link MacvlanKernel}), for unit tests without root. It models what the mode relies on: links with
 * kind/parent/mode/MTU/MAC/up, macvlan's passthru rule (EINVAL), missing parents (ENODEV), deletes
 * that take addresses, routes and children along, and a kernel with or without 802.1Q. Test-only.
 */
import { KernelFeatureMissingError } from '../../../common/kernel/errors.js';
import type { LinkInfo, MacvlanMode, RouteInfo, RouteSpec } from '../../../common/kernel/link-types.js';
import { LinkConflictError, RtnlError } from '../../../common/kernel/rt-errors.js';
import type { MacvlanKernel } from './context.js';

type Opts = { netns?: string; mtu?: number; mac?: string; up?: boolean; nodad?: boolean };

/** See the module comment; inspect `links`, `addresses`, `routes`, `sysctls` and `calls` after acting. */
export class FakeKernel implements MacvlanKernel {
  /** One line per mutating call, e.g. `ensureMacvlan tsmvaaaa on p0 bridge`. */
  readonly calls: string[] = [];
  readonly links = new Map<string, LinkInfo>();
  /** Addresses per link, as CIDRs. */
  readonly addresses = new Map<string, Set<string>>();
  routes: RouteInfo[] = [];
  /** Sysctls written, by key. */
  readonly sysctls = new Map<string, string>();
  /** Whether `ensureVlan` works (the test machine's kernel has no 8021q). */
  vlanSupported = false;
  #index = 100;
  /** Every namespace a call named; a mode given `netns` must pass it on every call. */
  readonly namespaces = new Set<string | undefined>();

  /** Adds a host interface (a test's stand-in for a NIC). */
  addDevice(name: string, props: Partial<LinkInfo> = {}): void {
    this.links.set(name, { name, index: this.#index++, kind: 'veth', mtu: 1500, mac: '02:00:00:00:00:01', up: true, ...props });
  }

  #seen(opts?: { netns?: string }): void {
    this.namespaces.add(opts?.netns);
  }

  findLink = async (name: string, opts?: { netns?: string }): Promise<LinkInfo | undefined> => {
    this.#seen(opts);
    const l = this.links.get(name);
    return l && { ...l };
  };

  listLinks = async (prefix = '', opts?: { netns?: string }): Promise<LinkInfo[]> => {
    this.#seen(opts);
    return [...this.links.values()].filter((l) => l.name.startsWith(prefix)).map((l) => ({ ...l }));
  };

  ensureMacvlan = async (name: string, parent: string, mode: MacvlanMode, opts: Opts = {}): Promise<void> => {
    this.#seen(opts);
    this.calls.push(`ensureMacvlan ${name} on ${parent} ${mode}`);
    const have = this.links.get(name);
    if (have) {
      if (have.kind !== 'macvlan' || have.parent !== parent || have.macvlanMode !== mode) throw new LinkConflictError(`macvlan "${name}"`, 'differs');
    } else {
      const p = this.links.get(parent);
      if (!p) throw new RtnlError(`macvlan "${name}"`, 'create', 'ENODEV', 'No such device');
      const siblings = [...this.links.values()].filter((l) => l.kind === 'macvlan' && l.parent === parent);
      if (siblings.some((l) => l.macvlanMode === 'passthru') || (mode === 'passthru' && siblings.length > 0)) {
        throw new RtnlError(`macvlan "${name}"`, 'create', 'EINVAL', 'Invalid argument');
      }
      const mac = mode === 'passthru' ? p.mac : '02:00:00:00:00:99';
      this.links.set(name, { name, index: this.#index++, kind: 'macvlan', parent, macvlanMode: mode, mtu: p.mtu, mac, up: false });
    }
    const l = this.links.get(name)!;
    if (opts.mtu !== undefined) l.mtu = opts.mtu;
    if (opts.mac !== undefined) l.mac = opts.mac;
    if (opts.up ?? true) l.up = true;
  };

  ensureVlan = async (name: string, parent: string, vid: number, opts: { netns?: string; up?: boolean } = {}): Promise<void> => {
    this.#seen(opts);
    this.calls.push(`ensureVlan ${name} on ${parent} id ${vid}`);
    if (!this.vlanSupported) throw new KernelFeatureMissingError('8021q', `cannot create vlan "${name}"`);
    const p = this.links.get(parent)!;
    if (!this.links.has(name)) this.links.set(name, { name, index: this.#index++, kind: 'vlan', parent, mtu: p.mtu, mac: p.mac, up: opts.up ?? true });
  };

  setUp = async (name: string, opts?: { netns?: string }): Promise<void> => {
    this.#seen(opts);
    this.calls.push(`setUp ${name}`);
    const l = this.links.get(name);
    if (!l) throw new RtnlError(`link "${name}"`, 'bring up', 'ENODEV', 'No such device');
    l.up = true;
  };

  ensureSysctl = async (key: string, value: string | number, opts?: { netns?: string }): Promise<string> => {
    this.#seen(opts);
    this.calls.push(`ensureSysctl ${key}=${value}`);
    const previous = this.sysctls.get(key) ?? '1';
    this.sysctls.set(key, String(value));
    return previous;
  };

  /** Deletes the link, its addresses and routes, and (as the kernel does) the macvlans and VLANs on it. */
  deleteLink = async (name: string, opts?: { netns?: string }): Promise<void> => {
    this.#seen(opts);
    if (!this.links.delete(name)) return;
    this.calls.push(`deleteLink ${name}`);
    this.addresses.delete(name);
    this.routes = this.routes.filter((r) => r.dev !== name);
    for (const child of [...this.links.values()].filter((l) => l.parent === name)) await this.deleteLink(child.name, opts);
  };

  ensureAddress = async (link: string, cidr: string, opts: Opts = {}): Promise<void> => {
    this.#seen(opts);
    this.calls.push(`ensureAddress ${cidr} on ${link}`);
    if (!this.links.has(link)) throw new RtnlError(`address ${cidr}`, 'add', 'ENODEV', 'No such device');
    this.addresses.set(link, new Set([...(this.addresses.get(link) ?? []), cidr]));
  };

  ensureRoute = async (route: RouteSpec, opts?: { netns?: string }): Promise<void> => {
    this.#seen(opts);
    this.calls.push(`ensureRoute ${route.dst} dev ${route.dev}`);
    if (route.dev !== undefined && !this.links.has(route.dev)) throw new RtnlError(`route ${route.dst}`, 'add', 'ENODEV', 'No such device');
    this.routes = [...this.routes.filter((r) => r.dst !== route.dst), this.#route(route)];
  };

  deleteRoute = async (route: RouteSpec, opts?: { netns?: string }): Promise<void> => {
    this.#seen(opts);
    const before = this.routes.length;
    this.routes = this.routes.filter((r) => !(r.dst === route.dst && (route.dev === undefined || r.dev === route.dev)));
    if (this.routes.length < before) this.calls.push(`deleteRoute ${route.dst}`);
  };

  listRoutes = async (opts?: { netns?: string }): Promise<RouteInfo[]> => {
    this.#seen(opts);
    return this.routes.map((r) => ({ ...r }));
  };

  #route(r: RouteSpec): RouteInfo {
    const out: RouteInfo = { family: r.dst.includes(':') ? 6 : 4, dst: r.dst, type: 'unicast', table: 254, protocol: 3, scope: 253 };
    if (r.dev !== undefined) out.dev = r.dev;
    return out;
  }
}
