/**
 * @module What every phase of overlay mode works with: the bridge core's context and phases (an
 * overlay is a bridge network plus a VXLAN port), the kernel seam, the host's cluster session (absent:
 * single-host overlays), the peer sync, and what this host has: its VNIs and its published endpoints.
 * One per mode instance; a feature added to overlay (encryption, DNS names) adds its state here.
 */
import type { ClusterSession } from '../../../common/cluster/types.js';
import type { Logger } from '../../../common/log.js';
import type { NetworkRecord } from '../../records.js';
import type { BridgeContext } from '../bridge-core/context.js';
import type { bridgePhases } from '../bridge-core/phases.js';
import type { ModeKernel } from '../kernel.js';
import type { OverlayCluster } from './cluster.js';
import type { EncryptionSync } from './encryption-sync.js';
import type { OverlayConfig } from './options.js';
import type { PeerSync } from './peers.js';

/** An overlay network's record. */
export type OverlayNetwork = NetworkRecord<OverlayConfig>;

/** What this host publishes in etcd for one of its endpoints. */
export interface Publication {
  endpointId: string;
  vtep: string;
  mac: string;
  ip?: string;
  ip6?: string;
}

export interface OverlayContext {
  kernel: ModeKernel;
  log: Logger;
  /** The bridge core's state, with overlay's flavour (MAC, firewall table, MTU less the VXLAN overhead). */
  core: BridgeContext;
  /** The bridge core's phases over {@link OverlayContext.core}. */
  bridge: ReturnType<typeof bridgePhases<OverlayConfig>>;
  session?: ClusterSession;
  cluster?: OverlayCluster;
  /** This host's VTEP address (the session's advertise address); undefined without a cluster. */
  vtep?: string;
  /** MAC of this instance's overlay bridges and VXLAN devices. */
  mac: string;
  peers: PeerSync;
  /** VNI → network ID, for this host's overlays. */
  vnis: Map<number, string>;
  /** Encrypted networks' keys and xfrm objects; undefined without a cluster (a single host sends no VXLAN). */
  encryption?: EncryptionSync;
  /** Endpoint ID → its VNI and what is published, for this host's overlay endpoints. */
  published: Map<string, { vni: number; ep: Publication }>;
  /** Whether restore has asked the session to re-publish on a new lease (once per process: doctor --fix restores again). */
  republishHooked: boolean;
}
