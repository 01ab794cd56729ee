/**
 * @module The primitive link/address/route/neighbour requests, as one interface with two
 * implementations: netlink in the process's own namespace (`rt-netlink.ts`), and `ip`/`bridge`
 * with `-n NAME` for any other namespace (`rt-iproute2.ts`), since Node cannot switch namespace.
 * Primitives do one kernel request each (or one `ip -batch`), know nothing of idempotency and throw
 * {@link Errno}; the public modules (`links.ts`, …) build the idempotent operations on top.
 */
import type { Errno } from './rt-errors.js';
import { IpRoute2Backend } from './rt-iproute2.js';
import type { AddressInfo, FdbEntry, LinkInfo, MacvlanMode, NeighborInfo, RouteInfo, RouteSpec } from './link-types.js';

/** Everything one create request sets. The back end creates it up (if asked) in as few requests as it can. */
export interface NewLinkSpec {
  name: string;
  kind: 'bridge' | 'veth' | 'vxlan' | 'macvlan';
  mtu?: number;
  /** Set the MTU in a second request after creating: a bridge then keeps it when smaller ports join. */
  mtuAfterCreate?: boolean;
  mac?: string;
  up?: boolean;
  master?: string;
  peer?: { name: string; mtu?: number; mac?: string; up?: boolean };
  vxlan?: { vni: number; port: number; local?: string; dev?: string; learning: boolean; proxy: boolean };
  macvlan?: { parent: string; mode: MacvlanMode };
}

/** Attributes to change on an existing link; absent fields are left alone. `master: null` releases it. */
export interface LinkChange {
  up?: boolean;
  mtu?: number;
  mac?: string;
  master?: string | null;
}

export interface FdbSpec {
  dev: string;
  mac: string;
  dst?: string;
}

/** One kernel request per method (see module comment). Every method may throw {@link Errno}. */
export interface RtBackend {
  /** The namespace it acts in; undefined for the process's own. */
  readonly netns: string | undefined;
  getLink(name: string): Promise<LinkInfo | undefined>;
  listLinks(): Promise<LinkInfo[]>;
  /** Creates with NLM_F_EXCL (EEXIST if the name is taken). A failure after the create removes it again. */
  addLink(spec: NewLinkSpec): Promise<void>;
  setLink(name: string, change: LinkChange): Promise<void>;
  /** Moves to the named namespace, renaming in the same request when `newName` is given. */
  moveLink(name: string, netns: string, newName?: string): Promise<void>;
  delLink(name: string): Promise<void>;
  listAddresses(): Promise<Array<AddressInfo & { dev: string }>>;
  /** NLM_F_REPLACE: adding an existing address succeeds. */
  replaceAddress(dev: string, cidr: string, nodad: boolean): Promise<void>;
  delAddress(dev: string, cidr: string): Promise<void>;
  /** All routes of all tables, both families. */
  listRoutes(): Promise<RouteInfo[]>;
  replaceRoute(route: RouteSpec): Promise<void>;
  delRoute(route: RouteSpec): Promise<void>;
  listNeighbors(): Promise<NeighborInfo[]>;
  /** Permanent entry, NLM_F_REPLACE. */
  replaceNeighbor(dev: string, ip: string, mac: string): Promise<void>;
  delNeighbor(dev: string, ip: string): Promise<void>;
  listFdb(): Promise<FdbEntry[]>;
  /** Static `self permanent` entry; `append` adds one more remote for the MAC (flooding list), `replace` sets the only one. */
  addFdb(entry: FdbSpec, mode: 'append' | 'replace'): Promise<void>;
  delFdb(entry: FdbSpec): Promise<void>;
}


let own: RtBackend | undefined;
let ownThroughIp = false;

/**
 * The netlink back end, loaded on first use: the `netlink` package costs 70–150 ms to load, which a
 * process that only works in named namespaces (engine-lite) should not pay. Every method is async, so
 * each one simply awaits the loaded back end.
 */
function lazyNetlinkBackend(): RtBackend {
  let loaded: Promise<RtBackend> | undefined;
  const load = () => (loaded ??= import('./rt-netlink.js').then((m) => new m.NetlinkBackend()));
  return new Proxy({ netns: undefined } as RtBackend, {
    get(target, key: keyof RtBackend) {
      if (key === 'netns') return target.netns;
      return async (...args: unknown[]) => {
        const backend = await load();
        return (backend[key] as (...a: unknown[]) => Promise<unknown>).apply(backend, args);
      };
    },
  });
}

/**
 * Makes this process act in its own namespace through `ip`/`bridge` too, never loading netlink: for a
 * short-lived process that makes a couple of own-namespace requests (engine-lite: one move per
 * network, one address lookup), since a spawn of `ip` costs a few ms and loading netlink 70–150 ms.
 */
export function ownNamespaceThroughIp(): void {
  ownThroughIp = true;
  own = undefined;
}

/** The back end for `netns`: for the process's own namespace (undefined) netlink (see {@link ownNamespaceThroughIp}), `ip -n` for a named one. */
export function backendFor(netns: string | undefined): RtBackend {
  if (netns === undefined) return (own ??= ownThroughIp ? new IpRoute2Backend() : lazyNetlinkBackend());
  return new IpRoute2Backend(netns);
}
