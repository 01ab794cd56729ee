/**
 * @module What `tsnet status` shows of an overlay network: its segment, this host's VTEP, whether the
 * peers are synced with etcd, the other hosts with endpoints on it, and the entries its VXLAN device
 * really has. Reads the kernel; changes nothing.
 */
import type { OverlayContext, OverlayNetwork } from './context.js';

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
  /** Encrypted networks only: the key generation this host sends with and how many keys it accepts (never a key). */
  encryption?: { rekeySeconds: number; rekeyBytes: number; keyGeneration?: number; keysAccepted: number };
};

export async function status(ctx: OverlayContext, net: OverlayNetwork): Promise<OverlayStatus> {
  const cfg = net.config;
  const st = await ctx.peers.status(cfg.vni);
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
    bridge: cfg.bridge.bridge,
    vtep: ctx.vtep ?? '',
    cluster: ctx.cluster ? (st?.synced ? 'synced' : 'waiting for etcd') : 'none (single host)',
    peers: [...hosts.values()],
    fdb: st?.fdb ?? [],
    neighbors: st?.neighbors ?? [],
    ...(cfg.encryption ? { encryption: { ...cfg.encryption, ...(ctx.encryption?.status(cfg.vni) ?? { keysAccepted: 0 }) } } : {}),
  };
}
