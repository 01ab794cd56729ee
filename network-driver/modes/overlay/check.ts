/**
 * @module `tsnet doctor` for overlay mode: the bridge core's check (bridge, veths, firewall) on overlay's
 * context, then per network its VXLAN device (VNI, UDP port, VTEP address, MTU, master bridge) and every
 * FDB and neighbour entry its peers call for, as etcd says now (as last read when etcd does not answer;
 * none without a cluster), each missing, wrong or unowned entry by name; and `tsvx-…` devices no
 * record owns. Repair re-makes deleted veths (the core's), waits (bounded) for the peer resync that
 * restore starts, and removes `tsvx-…` devices no tsnet instance made; restore.ts rebuilds the rest.
 */
import type { Finding } from '../../../common/finding.js';
import type { LinkInfo } from '../../../common/kernel/link-types.js';
import type { EndpointRecord } from '../../records.js';
import { checkBridge, replugEndpoints, SUITE_MAC_PREFIX } from '../bridge-core/check.js';
import { short } from '../shared/names.js';
import type { PeerEndpoint } from './cluster.js';
import type { OverlayContext, OverlayNetwork } from './context.js';
import { isOurVxlan } from './network.js';
import { VXLAN_PREFIX } from './options.js';
import { desiredEntries } from './peers.js';

/** How long `--fix` waits for the peers to be read from etcd again before it checks. */
const RESYNC_WAIT_MS = 10_000;

const finding = (Object: string, Expected: string, Found: string, Fixable = true): Finding => ({ Plugin: 'tsnet', Object, Expected, Found, Fixable });

/** Other hosts' endpoints on `vni`: etcd's answer now, or (etcd away: a finding says so) what was last read. */
async function peersOf(ctx: OverlayContext, net: OverlayNetwork): Promise<{ peers: PeerEndpoint[]; findings: Finding[] }> {
  const { vni } = net.config;
  if (!ctx.cluster) return { peers: [], findings: [] };
  try {
    const hostId = ctx.cluster.hostId;
    return { peers: (await ctx.cluster.endpointsOf(vni)).peers.filter((p) => p.host !== hostId), findings: [] };
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return { peers: ctx.peers.peersOf(vni), findings: [finding(`cluster store (peers of network ${short(net.id)})`, 'etcd answering', `no answer (${why}); entries compared with the peers last read`, false)] };
  }
}

/** The VXLAN device's settings against the record's. */
async function checkDevice(ctx: OverlayContext, net: OverlayNetwork, link: LinkInfo | undefined): Promise<Finding[]> {
  const cfg = net.config;
  const name = `VXLAN device ${cfg.vxlan} of network ${short(net.id)}`;
  const want = `a vxlan device (vni ${cfg.vni}, port ${cfg.port}) on bridge ${cfg.bridge.bridge}`;
  if (!link) return [finding(name, want, 'no such link')];
  const v = link.vxlan;
  if (link.kind !== 'vxlan' || !v) return [finding(name, want, `a ${link.kind}`)];
  const out: Finding[] = [];
  if (v.vni !== cfg.vni || v.port !== cfg.port) out.push(finding(name, `vni ${cfg.vni}, port ${cfg.port}`, `vni ${v.vni}, port ${v.port}`));
  if (ctx.vtep !== undefined && v.local !== ctx.vtep) out.push(finding(name, `VTEP address ${ctx.vtep}`, v.local === undefined ? 'none' : v.local));
  if (link.master !== cfg.bridge.bridge) out.push(finding(name, `on bridge ${cfg.bridge.bridge}`, link.master === undefined ? 'on no bridge' : `on ${link.master}`));
  const mtu = cfg.mtu ?? (await ctx.core.defaultMtu(cfg));
  if (link.mtu !== mtu) out.push(finding(name, `MTU ${mtu}`, `MTU ${link.mtu}`));
  return out;
}

/** Every FDB and neighbour entry the peers call for against the device's, both ways. */
async function checkEntries(ctx: OverlayContext, net: OverlayNetwork, peers: readonly PeerEndpoint[]): Promise<Finding[]> {
  const dev = net.config.vxlan;
  const want = desiredEntries(peers);
  const owner = new Map(peers.flatMap((p) => [[p.mac.toLowerCase(), p] as const, ...[p.ip, p.ip6].flatMap((ip) => (ip === undefined ? [] : [[ip, p] as const]))]));
  const whose = (key: string) => {
    const p = owner.get(key);
    return p ? ` (endpoint ${short(p.endpointId)} of host ${p.host})` : '';
  };
  const [fdb, neighbors] = await Promise.all([ctx.kernel.listFdb(dev), ctx.kernel.listNeighbors(dev)]);
  const haveFdb = new Map(fdb.map((e) => [e.mac.toLowerCase(), e.dst ?? '']));
  const haveNeigh = new Map(neighbors.map((n) => [n.ip, (n.mac ?? '').toLowerCase()]));
  const of = `on ${dev} (network ${short(net.id)})`;
  const out: Finding[] = [];
  for (const [mac, vtep] of want.fdb) {
    const have = haveFdb.get(mac);
    if (have !== vtep) out.push(finding(`FDB entry ${mac} ${of}`, `to VTEP ${vtep}${whose(mac)}`, have === undefined ? 'missing' : `to VTEP ${have}`));
  }
  for (const [mac, vtep] of haveFdb) if (!want.fdb.has(mac)) out.push(finding(`FDB entry ${mac} ${of}`, 'absent (no peer publishes it)', `to VTEP ${vtep}`));
  for (const [ip, mac] of want.neighbors) {
    const have = haveNeigh.get(ip);
    if (have !== mac) out.push(finding(`neighbour entry ${ip} ${of}`, `MAC ${mac}${whose(ip)}`, have === undefined ? 'missing' : `MAC ${have}`));
  }
  for (const [ip, mac] of haveNeigh) if (!want.neighbors.has(ip)) out.push(finding(`neighbour entry ${ip} ${of}`, 'absent (no peer publishes it)', `MAC ${mac}`));
  return out;
}

/** `tsvx-…` devices that carry no suite MAC: made by someone else, owned by no record of any instance. */
function strayVxlans(all: readonly LinkInfo[]): LinkInfo[] {
  return all.filter((l) => l.kind === 'vxlan' && l.name.startsWith(VXLAN_PREFIX) && !(l.mac ?? '').startsWith(SUITE_MAC_PREFIX));
}

/** Every difference between the overlay records and the kernel (and etcd's peers), with unowned `tsvx-…` devices. */
export async function checkOverlay(ctx: OverlayContext, nets: readonly OverlayNetwork[], eps: readonly EndpointRecord[]): Promise<Finding[]> {
  const out = await checkBridge(ctx.core, nets, eps);
  const all = await ctx.kernel.listLinks();
  const byName = new Map(all.map((l) => [l.name, l]));
  for (const net of nets) {
    const link = byName.get(net.config.vxlan);
    out.push(...(await checkDevice(ctx, net, link)));
    if (link?.kind !== 'vxlan') continue;
    const { peers, findings } = await peersOf(ctx, net);
    out.push(...findings, ...(await checkEntries(ctx, net, peers)));
  }
  const known = new Set(nets.map((n) => n.config.vxlan));
  for (const l of all) {
    if (isOurVxlan(ctx, l) && !known.has(l.name)) out.push(finding(`VXLAN device ${l.name}`, 'absent (no record owns it)', `present (vni ${l.vxlan?.vni})`));
  }
  for (const l of strayVxlans(all)) out.push(finding(`VXLAN device ${l.name}`, 'absent (a tsvx- device no record of any tsnet instance owns)', `present with MAC ${l.mac}`));
  return out;
}

/**
 * After restore (devices back, peer resync started): re-makes deleted veths, waits up to
 * {@link RESYNC_WAIT_MS} for the peers to be programmed again, and removes {@link strayVxlans}.
 */
export async function repairOverlay(ctx: OverlayContext, nets: readonly OverlayNetwork[], eps: readonly EndpointRecord[]): Promise<void> {
  await replugEndpoints(ctx.core, nets, eps);
  if (ctx.cluster) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), RESYNC_WAIT_MS).unref()));
    const synced = await Promise.race([ctx.peers.resync().then(() => true), timeout]);
    clearTimeout(timer);
    if (!synced) ctx.log.warn('overlay peers not resynced yet (etcd does not answer); the entries are reprogrammed when it does');
  }
  for (const l of strayVxlans(await ctx.kernel.listLinks())) {
    ctx.log.info('removing a stray VXLAN device', { link: l.name });
    await ctx.kernel.deleteLink(l.name);
  }
}
