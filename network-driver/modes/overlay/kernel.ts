/**
 * @module The kernel calls overlay mode makes on top of bridge mode's: the VXLAN device, and the static
 * FDB and neighbour entries of remote endpoints on it. Production passes {@link hostOverlayKernel}();
 * unit tests pass a recording fake. Only this file (and bridge/kernel.ts) import common/kernel.
 */
import { FLOOD_MAC } from '../../../common/kernel/fdb.js';
import type { FdbEntry, NeighborInfo, NetnsOption, VxlanOptions } from '../../../common/kernel/link-types.js';
import { links } from '../../../common/kernel/links-api.js';
import { hostBridgeKernel, type BridgeKernel } from '../bridge/kernel.js';

export interface OverlayKernel extends BridgeKernel {
  ensureVxlan(name: string, opts: Omit<VxlanOptions, 'netns'>): Promise<void>;
  /** Static entries of the VXLAN device: MAC → remote VTEP. */
  listFdb(dev: string): Promise<FdbEntry[]>;
  ensureFdb(dev: string, mac: string, vtep: string): Promise<void>;
  deleteFdb(dev: string, mac: string): Promise<void>;
  listNeighbors(dev: string): Promise<NeighborInfo[]>;
  ensureNeighbor(dev: string, ip: string, mac: string): Promise<void>;
  deleteNeighbor(dev: string, ip: string): Promise<void>;
}

/** The real kernel, in this namespace or the named one (kernel tests). */
export function hostOverlayKernel(opts: NetnsOption = {}): OverlayKernel {
  const ns: NetnsOption = opts.netns === undefined ? {} : { netns: opts.netns };
  return {
    ...hostBridgeKernel(ns),
    ensureVxlan: (name, o) => links.ensureVxlan(name, { ...o, ...ns }),
    listFdb: async (dev) => (await links.listFdb(dev, ns)).filter((e) => e.self && e.dst !== undefined && e.mac !== FLOOD_MAC),
    ensureFdb: (dev, mac, vtep) => links.ensureFdb(dev, mac, vtep, ns),
    deleteFdb: (dev, mac) => links.deleteFdb(dev, mac, undefined, ns),
    listNeighbors: async (dev) => (await links.listNeighbors(dev, ns)).filter((n) => n.permanent),
    ensureNeighbor: (dev, ip, mac) => links.ensureNeighbor(dev, ip, mac, ns),
    deleteNeighbor: (dev, ip) => links.deleteNeighbor(dev, ip, ns),
  };
}
