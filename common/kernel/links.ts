/**
 * @module Network links for the drivers: find, list, ensure (bridge, veth pair, VXLAN, macvlan),
 * change, move between namespaces, delete. Every function takes `netns`: absent, it acts in the
 * process's own namespace over netlink; a name under /run/netns, it runs `ip -n NAME`.
 * Every `ensure*`/`delete*` is idempotent, and every failure is a KernelError naming link and step.
 */
import { KernelFeatureMissingError } from './errors.js';
import { assertIfName } from './link-types.js';
import { backendFor, type LinkChange, type NewLinkSpec, type RtBackend } from './rt-backend.js';
import { canonicalIp, canonicalMac } from './rt-codec.js';
import { LinkConflictError, isErrno, step, stepIgnoring } from './rt-errors.js';
import type {
  BridgeOptions,
  LinkInfo,
  MacvlanMode,
  MacvlanOptions,
  NetnsOption,
  VethOptions,
  VxlanOptions,
} from './link-types.js';

/** Errno values that mean "the link (or its namespace) is already gone". */
const GONE = ['ENODEV', 'ENONETNS'];

const linkObject = (name: string) => `link "${name}"`;

/** Attribute changes that bring `have` to what was asked; empty when nothing differs. */
function fixups(have: LinkInfo, want: { mtu?: number; mac?: string; up?: boolean; master?: string }): LinkChange {
  const change: LinkChange = {};
  if (want.mtu !== undefined && have.mtu !== want.mtu) change.mtu = want.mtu;
  if (want.mac !== undefined && have.mac !== canonicalMac(want.mac)) change.mac = want.mac;
  if (want.master !== undefined && have.master !== want.master) change.master = want.master;
  if (want.up === true && !have.up) change.up = true;
  return change;
}

async function applyFixups(b: RtBackend, have: LinkInfo, want: Parameters<typeof fixups>[1]): Promise<void> {
  const change = fixups(have, want);
  if (Object.keys(change).length > 0) await step(linkObject(have.name), 'update', () => b.setLink(have.name, change));
}

/**
 * The shared shape of every `ensure*`: create in one request (NLM_F_EXCL); on EEXIST inspect what
 * is there, refuse another kind or `check`'s conflicts, and fix up MTU/MAC/master/up in place.
 * A create that fails half-way is undone by the back end (see {@link RtBackend.addLink}).
 */
async function ensureLink(b: RtBackend, spec: NewLinkSpec, check?: (have: LinkInfo) => string | undefined): Promise<LinkInfo | undefined> {
  const object = `${spec.kind} "${spec.name}"`;
  try {
    await step(object, 'create', () => b.addLink(spec));
    return undefined;
  } catch (err) {
    if (isErrno(err, 'EOPNOTSUPP') && spec.master === undefined) {
      throw new KernelFeatureMissingError(spec.kind, `cannot create ${object}`, { cause: err });
    }
    if (!isErrno(err, 'EEXIST')) throw err;
  }
  const have = await step(object, 'inspect', () => b.getLink(spec.name));
  if (!have) throw new LinkConflictError(object, `"File exists" although no link "${spec.name}" exists: the peer name is taken`);
  if (have.kind !== spec.kind) throw new LinkConflictError(object, `a ${have.kind} of that name already exists`);
  const conflict = check?.(have);
  if (conflict !== undefined) throw new LinkConflictError(object, conflict);
  await applyFixups(b, have, spec);
  return have;
}

/** The link called `name`, or `undefined` when there is none. */
export async function findLink(name: string, opts: NetnsOption = {}): Promise<LinkInfo | undefined> {
  assertIfName(name);
  return step(linkObject(name), 'find', () => backendFor(opts.netns).getLink(name));
}

/** All links whose name starts with `prefix` (all links for ''), sorted by name. */
export async function listLinks(prefix = '', opts: NetnsOption = {}): Promise<LinkInfo[]> {
  const all = await step(`links "${prefix}*"`, 'list', () => backendFor(opts.netns).listLinks());
  return all.filter((l) => l.name.startsWith(prefix)).sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Makes sure a bridge called `name` exists, is up (unless `up: false`) and has the given MTU/MAC.
 * Idempotent: an existing bridge is kept and fixed up. The MTU is set after creation so that the
 * kernel treats it as chosen by the user and does not lower it when a smaller port joins; if that
 * step fails the new bridge is removed again.
 * @throws LinkConflictError when a link of that name exists but is not a bridge.
 */
export async function ensureBridge(name: string, opts: BridgeOptions = {}): Promise<void> {
  assertIfName(name);
  const spec: NewLinkSpec = { name, kind: 'bridge', up: opts.up ?? true, mtuAfterCreate: true };
  if (opts.mtu !== undefined) spec.mtu = opts.mtu;
  if (opts.mac !== undefined) spec.mac = opts.mac;
  await ensureLink(backendFor(opts.netns), spec);
}

/**
 * Makes sure the veth pair `hostName`–`peerName` exists, created in one request with MTU, MACs,
 * `master` and both ends up (unless `up: false`). Idempotent: an existing pair is kept and fixed
 * up; a pair whose peer was already moved to another namespace counts as existing.
 * @throws LinkConflictError when `hostName` is another kind or its peer has another name, or
 * `peerName` is taken by an unrelated link.
 */
export async function ensureVethPair(hostName: string, peerName: string, opts: VethOptions = {}): Promise<void> {
  assertIfName(hostName);
  assertIfName(peerName);
  const b = backendFor(opts.netns);
  const up = opts.up ?? true;
  const peer: NonNullable<NewLinkSpec['peer']> = { name: peerName, up };
  const spec: NewLinkSpec = { name: hostName, kind: 'veth', up, peer };
  if (opts.mtu !== undefined) spec.mtu = peer.mtu = opts.mtu;
  if (opts.mac !== undefined) spec.mac = opts.mac;
  if (opts.peerMac !== undefined) peer.mac = opts.peerMac;
  if (opts.master !== undefined) spec.master = opts.master;
  const have = await ensureLink(b, spec, (l) =>
    l.peerInOtherNetns || l.peer === peerName ? undefined : `its peer is "${l.peer ?? `#${l.peerIndex ?? '?'}`}", not "${peerName}"`,
  );
  if (!have || have.peerInOtherNetns) return;
  const peerLink = await step(linkObject(peerName), 'inspect', () => b.getLink(peerName));
  if (peerLink) await applyFixups(b, peerLink, peer);
}

/**
 * Makes sure a VXLAN device `name` exists with this VNI, UDP port, source address and `dev`, with
 * learning off (the suite programs static FDB entries), up unless `up: false`. Idempotent.
 * @throws LinkConflictError when a link of that name is another kind or has another VNI, port,
 * source address or learning setting.
 */
export async function ensureVxlan(name: string, opts: VxlanOptions): Promise<void> {
  assertIfName(name);
  if (opts.dev !== undefined) assertIfName(opts.dev);
  const vxlan: NonNullable<NewLinkSpec['vxlan']> = { vni: opts.vni, port: opts.port, learning: opts.learning, proxy: opts.proxy ?? false };
  if (opts.local !== undefined) vxlan.local = canonicalIp(opts.local);
  if (opts.dev !== undefined) vxlan.dev = opts.dev;
  const spec: NewLinkSpec = { name, kind: 'vxlan', up: opts.up ?? true, vxlan };
  if (opts.mtu !== undefined) spec.mtu = opts.mtu;
  if (opts.mac !== undefined) spec.mac = opts.mac;
  if (opts.master !== undefined) spec.master = opts.master;
  await ensureLink(backendFor(opts.netns), spec, (l) => {
    const v = l.vxlan;
    if (!v) return 'its VXLAN settings cannot be read';
    if (v.vni !== vxlan.vni || v.port !== vxlan.port) return `it has VNI ${v.vni} port ${v.port}, not VNI ${vxlan.vni} port ${vxlan.port}`;
    if (v.learning !== vxlan.learning) return `it has learning ${v.learning ? 'on' : 'off'}`;
    if (v.proxy !== vxlan.proxy) return `it has the ARP proxy ${v.proxy ? 'on' : 'off'}`;
    if (vxlan.local !== undefined && v.local !== vxlan.local) return `its local address is ${v.local ?? 'unset'}, not ${vxlan.local}`;
    if (vxlan.dev !== undefined && l.parent !== vxlan.dev) return `it is bound to ${l.parent ?? 'no device'}, not "${vxlan.dev}"`;
    return undefined;
  });
}

/**
 * Makes sure a macvlan `name` on `parent` in `mode` exists, up unless `up: false`. Idempotent.
 * @throws LinkConflictError when a link of that name is another kind, or has another parent or mode.
 */
export async function ensureMacvlan(name: string, parent: string, mode: MacvlanMode, opts: MacvlanOptions = {}): Promise<void> {
  assertIfName(name);
  assertIfName(parent);
  const spec: NewLinkSpec = { name, kind: 'macvlan', up: opts.up ?? true, macvlan: { parent, mode } };
  if (opts.mtu !== undefined) spec.mtu = opts.mtu;
  if (opts.mac !== undefined) spec.mac = opts.mac;
  await ensureLink(backendFor(opts.netns), spec, (l) =>
    l.parent === parent && l.macvlanMode === mode ? undefined : `it is a ${l.macvlanMode ?? '?'} macvlan on "${l.parent ?? '?'}"`,
  );
}

/** Makes `name` a port of `bridge` (`null`: of no bridge). Idempotent: the kernel accepts the current master again. */
export async function setMaster(name: string, bridge: string | null, opts: NetnsOption = {}): Promise<void> {
  assertIfName(name);
  if (bridge !== null) assertIfName(bridge);
  await step(linkObject(name), bridge === null ? 'release from its bridge' : `attach to bridge "${bridge}"`, () =>
    backendFor(opts.netns).setLink(name, { master: bridge }),
  );
}

/** Brings `name` up. Idempotent. */
export async function setUp(name: string, opts: NetnsOption = {}): Promise<void> {
  await setLinkAttrs(name, 'bring up', { up: true }, opts);
}

/** Brings `name` down. Idempotent. */
export async function setDown(name: string, opts: NetnsOption = {}): Promise<void> {
  await setLinkAttrs(name, 'bring down', { up: false }, opts);
}

/** Sets the MTU of `name`. Idempotent. */
export async function setMtu(name: string, mtu: number, opts: NetnsOption = {}): Promise<void> {
  await setLinkAttrs(name, `set MTU ${mtu} on`, { mtu }, opts);
}

/** Sets the MAC address of `name`. Idempotent. */
export async function setMac(name: string, mac: string, opts: NetnsOption = {}): Promise<void> {
  await setLinkAttrs(name, `set MAC ${mac} on`, { mac: canonicalMac(mac) }, opts);
}

async function setLinkAttrs(name: string, what: string, change: LinkChange, opts: NetnsOption): Promise<void> {
  assertIfName(name);
  await step(linkObject(name), what, () => backendFor(opts.netns).setLink(name, change));
}

/** Deletes `name` (for a veth, both ends). Idempotent: a missing link, or a missing namespace, counts as deleted. */
export async function deleteLink(name: string, opts: NetnsOption = {}): Promise<void> {
  assertIfName(name);
  await stepIgnoring(linkObject(name), 'delete', GONE, () => backendFor(opts.netns).delLink(name));
}

export interface MoveOptions extends NetnsOption {
  /** Name in the target namespace, set in the same request. */
  newName?: string;
}

/**
 * Moves `name` from `opts.netns` (default: our own) into the named namespace `target`, renamed
 * to `newName` in the same request. The kernel brings a moved link down. Idempotent: when `name`
 * is gone from the source but the target already has the link, the move counts as done.
 */
export async function moveToNetns(name: string, target: string, opts: MoveOptions = {}): Promise<void> {
  assertIfName(name);
  if (opts.newName !== undefined) assertIfName(opts.newName);
  const object = linkObject(name);
  try {
    await step(object, `move to netns "${target}"`, () => backendFor(opts.netns).moveLink(name, target, opts.newName));
  } catch (err) {
    if (!isErrno(err, 'ENODEV')) throw err;
    const there = await step(object, 'inspect target of move', () => backendFor(target).getLink(opts.newName ?? name));
    if (!there) throw err;
  }
}
