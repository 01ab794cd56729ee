/**
 * @module Plain data types of the link/address/route/neighbour API, and interface-name validation.
 * No I/O here; the functions live in `links.ts`, `addresses.ts`, `routes.ts` and `neighbors.ts`.
 */
import { InvalidNameError } from './rt-errors.js';

/** Where an operation runs. Absent: the process's own namespace (netlink). A name under /run/netns: `ip -n NAME`. */
export interface NetnsOption {
  netns?: string;
}

/** `IFLA_INFO_KIND` of a link; `device` for a link without one (a NIC), `loopback` for `lo`. */
export type LinkKind = 'bridge' | 'veth' | 'vxlan' | 'macvlan' | 'dummy' | 'loopback' | 'device' | (string & {});

export type MacvlanMode = 'private' | 'vepa' | 'bridge' | 'passthru' | 'source';

/** What a VXLAN device was created with. */
export interface VxlanInfo {
  vni: number;
  /** UDP destination port. */
  port: number;
  /** Source (VTEP) address, when one was set. */
  local?: string;
  learning: boolean;
  /** ARP/ND proxy: the device answers neighbour requests from its own neighbour table. */
  proxy: boolean;
}

/** A link as the kernel reports it. */
export interface LinkInfo {
  name: string;
  index: number;
  kind: LinkKind;
  mtu: number;
  /** Lower-case `aa:bb:cc:dd:ee:ff`. */
  mac: string;
  /** Administratively up (IFF_UP). */
  up: boolean;
  /** The bridge this link is a port of. */
  master?: string;
  masterIndex?: number;
  /** veth only: index of the other end, in this namespace unless `peerInOtherNetns`. */
  peerIndex?: number;
  /** veth only: name of the other end, when it is in the same namespace. */
  peer?: string;
  /** veth only: the other end lives in another namespace (it was moved into a sandbox). */
  peerInOtherNetns?: boolean;
  /** macvlan: the parent; vxlan: the `dev` it was bound to. */
  parent?: string;
  parentIndex?: number;
  vxlan?: VxlanInfo;
  macvlanMode?: MacvlanMode;
}

export interface BridgeOptions extends NetnsOption {
  /** Set after creation, so the kernel keeps it when a port with a smaller MTU joins. */
  mtu?: number;
  mac?: string;
  /** Bring the bridge up (default true). */
  up?: boolean;
}

export interface VethOptions extends NetnsOption {
  /** MTU of both ends. */
  mtu?: number;
  mac?: string;
  peerMac?: string;
  /** Bridge to enslave the host end to, in the same request. */
  master?: string;
  /** Bring both ends up (default true). */
  up?: boolean;
}

export interface VxlanOptions extends NetnsOption {
  vni: number;
  /** UDP destination port, 4789 by convention. */
  port: number;
  /** Source (VTEP) address. */
  local?: string;
  /** Underlay device to bind to. */
  dev?: string;
  /** Flood-and-learn; the suite programs static FDB entries instead, so this must be false. */
  learning: false;
  /** Answer ARP and neighbour solicitations from the device's neighbour table (remote endpoints' entries). */
  proxy?: boolean;
  mtu?: number;
  mac?: string;
  /** Bridge to enslave the device to, in the same request. */
  master?: string;
  up?: boolean;
}

export interface MacvlanOptions extends NetnsOption {
  mtu?: number;
  mac?: string;
  up?: boolean;
}

export interface AddressOptions extends NetnsOption {
  /** IPv6: skip duplicate address detection, so the address is usable at once. */
  nodad?: boolean;
}

export type AddressScope = 'global' | 'site' | 'link' | 'host' | 'nowhere' | number;

export interface AddressInfo {
  family: 4 | 6;
  address: string;
  prefixLength: number;
  /** `address/prefixLength`. */
  cidr: string;
  scope: AddressScope;
}

export type RouteType = 'unicast' | 'unreachable' | 'blackhole';

/** A route to make or remove. `dst` is a CIDR (`0.0.0.0/0`, `::/0` for a default route); a bare address means /32 or /128. */
export interface RouteSpec {
  dst: string;
  via?: string;
  dev?: string;
  /** Default `unicast`. */
  type?: RouteType;
  /** Routing table id, default main (254). */
  table?: number;
  /** Route priority; IPv6 routes default to 1024 in the kernel. */
  metric?: number;
}

/** A route as the kernel reports it. `type` is the kernel's name (`unicast`, `local`, `broadcast`, …). */
export interface RouteInfo {
  family: 4 | 6;
  dst: string;
  via?: string;
  dev?: string;
  type: RouteType | 'local' | 'broadcast' | 'multicast' | 'anycast' | 'prohibit' | 'throw' | (string & {});
  table: number;
  metric?: number;
  /** rtm_protocol: 2 kernel, 3 boot (what `ip` and we use), 4 static, … */
  protocol: number;
  /** rtm_scope: 0 universe, 253 link, 254 host. */
  scope: number;
}

export interface ListRoutesOptions extends NetnsOption {
  /** A table id, or `all`. Default main (254). */
  table?: number | 'all';
  family?: 4 | 6;
}

export interface NeighborInfo {
  dev: string;
  ip: string;
  mac?: string;
  permanent: boolean;
}

/** A forwarding-database entry (`bridge fdb`). On a VXLAN device `dst` is the remote VTEP. */
export interface FdbEntry {
  dev: string;
  mac: string;
  dst?: string;
  /** NTF_SELF: the entry is on the device itself (VXLAN), not on a bridge it belongs to. */
  self: boolean;
  permanent: boolean;
}

/** Longest interface name Linux accepts: IFNAMSIZ (16) less the terminating NUL. */
export const IFNAME_MAX_BYTES = 15;

/**
 * Throws {@link InvalidNameError} unless `name` is a name the kernel accepts for an interface
 * (dev_valid_name: 1–15 bytes, not `.`/`..`, no `/`, `:` or white space).
 */
export function assertIfName(name: string): void {
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes === 0) throw new InvalidNameError(name, 'is empty');
  if (bytes > IFNAME_MAX_BYTES) {
    throw new InvalidNameError(name, `is ${bytes} bytes long; Linux allows at most ${IFNAME_MAX_BYTES}`);
  }
  if (name === '.' || name === '..') throw new InvalidNameError(name, 'is reserved');
  if (/[/:\s]/.test(name)) throw new InvalidNameError(name, 'contains "/", ":" or white space');
}
