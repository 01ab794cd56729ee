/**
 * @module `-o mode=overlay`: a network that spans hosts. Per host it is bridge mode's network (bridge,
 * veths, firewall, published ports: the same phases, run on a context of its own) plus a VXLAN device on
 * the bridge (`tsvx-…`, learning off, ARP/ND proxy on); other hosts' endpoints are programmed on it as
 * static entries (peers.ts) from etcd (cluster.ts). Every host's bridge carries the same gateway address,
 * so each container's gateway is its own host (an anycast gateway, egress by the host's NAT).
 *
 * Without `--cluster-store` the overlay is a single-host network (the VXLAN device has no peers), the
 * embedded default. See docs/tsnet.md, "Mode `overlay`".
 */
import type { ClusterSession } from '../../../common/cluster/types.js';
import { formatIp, parseCidr, parseIp } from '../../../common/addr/parse.js';
import type { LinkInfo } from '../../../common/kernel/link-types.js';
import { errorFields, type Logger } from '../../../common/log.js';
import { ConflictError } from '../../../common/protocol/errors.js';
import type { EndpointRecord, NetworkRecord } from '../../records.js';
import { bridgePhases, createBridgeContext } from '../bridge/bridge-mode.js';
import { bridgeConfig } from '../bridge/options.js';
import type { NetworkMode } from '../mode.js';
import { uplinkMtu } from '../shared/uplink.js';
import { OverlayCluster, type NetworkDefinition } from './cluster.js';
import type { OverlayKernel } from './kernel.js';
import { OVERLAY_OPTION_NAMES, overlayConfig, parseOverlayOptions, VXLAN_OVERHEAD_V4, VXLAN_OVERHEAD_V6, VXLAN_PREFIX, type OverlayConfig } from './options.js';
import { PeerSync } from './peers.js';

const short = (id: string) => id.slice(0, 12);

/** MAC of this instance's overlay bridges and VXLAN devices: `02:74:6f` ("to") + the instance tag. */
export function overlayMacFor(tag: string): string {
  return ['02', '74', '6f', tag.slice(0, 2), tag.slice(2, 4), tag.slice(4, 6)].join(':');
}

/** The definition every host of the network must share. Pure. */
export function networkDefinition(net: NetworkRecord, cfg: OverlayConfig): NetworkDefinition {
  const pools = [...net.ipv4, ...net.ipv6];
  const def: NetworkDefinition = {
    vni: cfg.vni,
    port: cfg.port,
    subnets: pools.map((p) => p.Pool).sort(),
    gateways: pools.flatMap((p) => (p.Gateway ? [p.Gateway] : [])).sort(),
    internal: bridgeConfig(net).internal,
  };
  if (cfg.mtu !== undefined) def.mtu = cfg.mtu;
  return def;
}

type Publication = { endpointId: string; vtep: string; mac: string; ip?: string; ip6?: string };

/** Whether etcd holds what this host would publish for an endpoint. */
function samePublication(a: Publication, b: Publication): boolean {
  return a.vtep === b.vtep && a.mac === b.mac && a.ip === b.ip && a.ip6 === b.ip6;
}

/** A plain, canonical address from an endpoint's CIDR; undefined for `""`. */
function plainIp(cidr: string): string | undefined {
  const c = parseCidr(cidr);
  return c ? formatIp(c.family, c.addr) : undefined;
}

/** What `tsnet status` shows of an overlay network (its `Details`). */
export type OverlayStatus = {
  vni: number;
  vxlan: string;
  port: number;
  bridge: string;
  /** This host's VTEP address, `''` without a cluster. */
  vtep: string;
  cluster: 'synced' | 'waiting for etcd' | 'none (single host)';
  /** Other hosts with endpoints on the network. */
  peers: Array<{ host: string; vtep: string; endpoints: number }>;
  /** The entries the VXLAN device really has. */
  fdb: Array<{ mac: string; vtep: string }>;
  neighbors: Array<{ ip: string; mac: string }>;
};

export interface OverlayModeOptions {
  kernel: OverlayKernel;
  tag: string;
  log: Logger;
  /** The host's cluster session (`--cluster-store`); absent: single-host overlays. */
  cluster?: ClusterSession;
}

export function createOverlayMode(opts: OverlayModeOptions): NetworkMode {
  const { kernel, log, cluster: session } = opts;
  const cluster = session && new OverlayCluster(session);
  const vtep = session?.advertiseAddr;
  const overhead = vtep !== undefined && parseIp(vtep)?.family === 6 ? VXLAN_OVERHEAD_V6 : VXLAN_OVERHEAD_V4;
  const mac = overlayMacFor(opts.tag);
  const ctx = createBridgeContext(opts, {
    bridgeMac: mac,
    firewallTag: `${opts.tag}ov`,
    // The underlay's MTU less the encapsulation, so no inner packet needs fragmenting on the wire.
    defaultMtu: async () => (session ? session.advertiseMtu : await uplinkMtu(kernel)) - overhead,
  });
  const bridge = bridgePhases(ctx);
  // After etcd was away, what this host changed meanwhile (a withdrawn endpoint, a left network) is written now.
  const peers = new PeerSync(kernel, cluster, log, () => syncPublished());
  /** VNI → network ID, for this host's overlays. */
  const vnis = new Map<number, string>();
  /** Endpoint ID → its VNI and what is published, for this host's overlay endpoints. */
  const published = new Map<string, { vni: number; ep: Publication }>();

  const publication = (cfg: OverlayConfig, ep: EndpointRecord, epMac: string) => {
    const value: Publication = { endpointId: ep.id, vtep: vtep ?? '', mac: epMac.toLowerCase() };
    const ip = plainIp(ep.address);
    const ip6 = plainIp(ep.addressIpv6);
    if (ip) value.ip = ip;
    if (ip6) value.ip6 = ip6;
    return { vni: cfg.vni, ep: value };
  };

  /** Whether a link is one of this instance's VXLAN devices (its name prefix and overlay MAC). */
  const isOurVxlan = (link: LinkInfo) => link.kind === 'vxlan' && link.name.startsWith(VXLAN_PREFIX) && link.mac === mac;

  /** Refuses a VNI another network of this host has, and a VXLAN device of someone else's with this VNI and port. */
  async function checkVni(net: NetworkRecord, cfg: OverlayConfig): Promise<void> {
    const owner = vnis.get(cfg.vni);
    if (owner !== undefined && owner !== net.id) throw new ConflictError(`vni ${cfg.vni} is already used by network ${short(owner)} on this host`);
    for (const link of await kernel.listLinks()) {
      const v = link.vxlan;
      if (link.kind !== 'vxlan' || !v || v.vni !== cfg.vni || v.port !== cfg.port || link.name === cfg.vxlan) continue;
      if (isOurVxlan(link)) {
        // Ours, and no network has it (a crash leftover): the kernel would answer "file exists" forever.
        log.info('removing leftover VXLAN device', { link: link.name, vni: cfg.vni });
        await kernel.deleteLink(link.name);
      } else {
        throw new ConflictError(`VXLAN vni ${cfg.vni} on UDP port ${cfg.port} is already used on this host by interface "${link.name}"; choose another vni or vxlan_port`);
      }
    }
  }

  async function ensureVxlan(net: NetworkRecord, cfg: OverlayConfig): Promise<void> {
    const { bridge: br } = bridgeConfig(net);
    const mtu = cfg.mtu ?? (await ctx.defaultMtu());
    await kernel.ensureVxlan(cfg.vxlan, { vni: cfg.vni, port: cfg.port, ...(vtep ? { local: vtep } : {}), learning: false, proxy: true, mtu, mac, master: br });
  }

  /** Puts this host's endpoints and memberships in etcd exactly as the local records say (start-up, lease renewal). */
  async function syncPublished(): Promise<void> {
    if (!cluster) return;
    const { endpoints } = await cluster.allEndpoints();
    const inEtcd = new Map(endpoints.filter((e) => e.host === cluster.hostId).map((e) => [e.endpointId, e]));
    for (const [id, { vni, ep }] of published) {
      const have = inEtcd.get(id);
      if (!have?.peer || have.vni !== vni || !samePublication(have.peer, ep)) await cluster.publish(vni, ep);
    }
    for (const [id, e] of inEtcd) if (published.get(id)?.vni !== e.vni) await cluster.withdraw(e.vni, id);
    for (const vni of await cluster.memberships()) if (!vnis.has(vni)) await cluster.releaseNetwork(vni);
  }

  return {
    name: 'overlay',
    optionNames: OVERLAY_OPTION_NAMES,
    parseOptions: parseOverlayOptions,

    async createNetwork(net) {
      const cfg = overlayConfig(net);
      await checkVni(net, cfg);
      vnis.set(cfg.vni, net.id);
      try {
        await cluster?.claimNetwork(networkDefinition(net, cfg), net.id);
      } catch (err) {
        vnis.delete(cfg.vni);
        throw err;
      }
      try {
        await bridge.createNetwork(net);
        await ensureVxlan(net, cfg);
        await peers.attach(cfg.vni, cfg.vxlan);
      } catch (err) {
        peers.detach(cfg.vni);
        await kernel.deleteLink(cfg.vxlan).catch(() => undefined);
        await bridge.deleteNetwork(net).catch(() => undefined);
        await cluster?.releaseNetwork(cfg.vni).catch((e: unknown) => log.warn('could not leave the overlay in etcd', { vni: cfg.vni, ...errorFields(e) }));
        vnis.delete(cfg.vni);
        throw err;
      }
    },

    async deleteNetwork(net) {
      const cfg = overlayConfig(net);
      peers.detach(cfg.vni);
      await kernel.deleteLink(cfg.vxlan);
      await bridge.deleteNetwork(net);
      if (vnis.get(cfg.vni) === net.id) vnis.delete(cfg.vni);
      // etcd away: the membership is left, and the next sync (start-up, reconnection) removes it.
      await cluster?.releaseNetwork(cfg.vni).catch((err: unknown) => log.warn('could not leave the overlay in etcd; will retry on the next sync', { vni: cfg.vni, ...errorFields(err) }));
    },

    async createEndpoint(net, ep) {
      const cfg = overlayConfig(net);
      const made = await bridge.createEndpoint(net, ep);
      const pub = publication(cfg, ep, made.mac ?? ep.mac);
      if (cluster) {
        const clash = peers.peersOf(cfg.vni).find((p) => (pub.ep.ip !== undefined && p.ip === pub.ep.ip) || (pub.ep.ip6 !== undefined && p.ip6 === pub.ep.ip6));
        if (clash) {
          throw new ConflictError(
            `address ${clash.ip === pub.ep.ip ? pub.ep.ip : pub.ep.ip6} is already used on overlay vni ${cfg.vni} by an endpoint of host ${clash.host} (VTEP ${clash.vtep}); use --ipam-driver tsipam --ipam-opt cluster=true so that hosts share one pool`,
          );
        }
        await cluster.publish(cfg.vni, pub.ep);
      }
      published.set(ep.id, pub);
      return made;
    },

    async deleteEndpoint(net, ep) {
      const cfg = overlayConfig(net);
      await bridge.deleteEndpoint(net, ep);
      published.delete(ep.id);
      await cluster?.withdraw(cfg.vni, ep.id).catch((err: unknown) => log.warn('could not withdraw endpoint from etcd; will retry on the next sync', { EndpointID: short(ep.id), ...errorFields(err) }));
    },

    join: bridge.join,
    leave: bridge.leave,
    programExternalConnectivity: bridge.programExternalConnectivity!,
    revokeExternalConnectivity: bridge.revokeExternalConnectivity!,

    operInfo(net, ep) {
      const cfg = overlayConfig(net);
      return { ...bridge.operInfo(net, ep), vni: cfg.vni, vxlan: cfg.vxlan, vtep: vtep ?? '' };
    },

    async restore(nets, eps) {
      await bridge.restore(nets, eps);
      vnis.clear();
      published.clear();
      const known = new Set<string>();
      const byId = new Map(nets.map((n) => [n.id, n]));
      for (const net of nets) {
        try {
          const cfg = overlayConfig(net);
          vnis.set(cfg.vni, net.id);
          known.add(cfg.vxlan);
          await ensureVxlan(net, cfg);
          await peers.adopt(cfg.vni, cfg.vxlan);
        } catch (err) {
          log.warn('could not restore overlay network', { NetworkID: short(net.id), ...errorFields(err) });
        }
      }
      for (const ep of eps) {
        const net = byId.get(ep.networkId);
        if (net) published.set(ep.id, publication(overlayConfig(net), ep, ep.mac));
      }
      for (const link of await kernel.listLinks()) {
        if (isOurVxlan(link) && !known.has(link.name)) {
          log.info('removing leftover VXLAN device', { link: link.name });
          await kernel.deleteLink(link.name).catch((err: unknown) => log.warn('could not remove leftover link', { link: link.name, ...errorFields(err) }));
        }
      }
      if (session) {
        session.onRenewed(syncPublished);
        void peers.resync();
      }
    },

    async status(net): Promise<OverlayStatus> {
      const cfg = overlayConfig(net);
      const st = await peers.status(cfg.vni);
      const hosts = new Map<string, { host: string; vtep: string; endpoints: number }>();
      for (const p of st?.peers ?? []) {
        const h = hosts.get(p.host) ?? { host: p.host, vtep: p.vtep, endpoints: 0 };
        h.endpoints++;
        hosts.set(p.host, h);
      }
      return {
        vni: cfg.vni,
        vxlan: cfg.vxlan,
        port: cfg.port,
        bridge: bridgeConfig(net).bridge,
        vtep: vtep ?? '',
        cluster: cluster ? (st?.synced ? 'synced' : 'waiting for etcd') : 'none (single host)',
        peers: [...hosts.values()],
        fdb: st?.fdb ?? [],
        neighbors: st?.neighbors ?? [],
      };
    },

    close: () => peers.close(),
  };
}
