/**
 * @module Remote endpoints → kernel entries. For every overlay network this host has (a *segment*: a VNI
 * and its VXLAN device) it keeps the endpoints other hosts published, and programs each as a static FDB
 * entry (MAC → remote VTEP) and permanent neighbour entries (IP → MAC, answered locally by the device's
 * ARP/ND proxy), as flannel and Docker's overlay do: no flooding, no learning. One etcd watch over all
 * endpoints feeds it; events of VNIs this host does not have are dropped, so kernel state grows with the
 * remote endpoints of this host's networks only.
 *
 * Reconcile diffs the device's real entries against the published ones, so nothing stale survives a
 * restart, a lost event or a compaction. While etcd is away nothing is removed: traffic keeps flowing on
 * the entries the kernel has, and a full resync runs when etcd answers again.
 */
import { KeyedMutex } from '../../../common/keyed-mutex.js';
import { errorFields, type Logger } from '../../../common/log.js';
import type { Watch, WatchEvent } from '../../../common/cluster/types.js';
import { ENDPOINTS, parseEndpoint, type OverlayCluster, type PeerEndpoint } from './cluster.js';
import type { ModeKernel } from '../kernel.js';

interface Segment {
  vni: number;
  vxlan: string;
  /** Revision of the read the peers came from; -1 until read (events are then ignored, a resync follows). */
  loadedAt: number;
  /** `host/endpointId` → endpoint, other hosts' only. */
  peers: Map<string, PeerEndpoint>;
}

/** What a segment's device should hold. */
export interface SegmentEntries {
  /** MAC → VTEP. */
  fdb: Map<string, string>;
  /** IP → MAC. */
  neighbors: Map<string, string>;
}

/** The entries the peers call for. A MAC published twice keeps the first VTEP (dockerd's random MACs never collide in practice). */
export function desiredEntries(peers: Iterable<PeerEndpoint>): SegmentEntries {
  const fdb = new Map<string, string>();
  const neighbors = new Map<string, string>();
  for (const p of peers) {
    const mac = p.mac.toLowerCase();
    if (!fdb.has(mac)) fdb.set(mac, p.vtep);
    for (const ip of [p.ip, p.ip6]) if (ip !== undefined && !neighbors.has(ip)) neighbors.set(ip, mac);
  }
  return { fdb, neighbors };
}

const RETRY_MS = 1000;

export class PeerSync {
  readonly #segments = new Map<number, Segment>();
  readonly #lock = new KeyedMutex();
  #watch: Watch | undefined;
  #resyncing: Promise<void> | undefined;
  #closed = false;

  constructor(
    private readonly kernel: ModeKernel,
    private readonly cluster: OverlayCluster | undefined,
    private readonly log: Logger,
    /** Runs when the watch reconnects after etcd was away. */
    private readonly onReconnected: () => Promise<void> = async () => undefined,
    /** Runs after a network's entries were programmed (its peers may have changed). */
    private readonly onProgrammed: (vni: number) => void = () => undefined,
  ) {}

  /**
   * Adds a network and programs its peers now (CreateNetwork: etcd must answer).
   * @throws EtcdUnavailableError; KernelError.
   */
  async attach(vni: number, vxlan: string): Promise<void> {
    const seg: Segment = { vni, vxlan, loadedAt: -1, peers: new Map() };
    this.#segments.set(vni, seg);
    if (this.cluster) {
      const { peers, revision } = await this.cluster.endpointsOf(vni);
      this.#load(seg, peers, revision);
      this.#ensureWatch(revision);
    }
    await this.#lock.run(String(vni), () => this.#reconcile(seg));
  }

  /**
   * Adds a network on start-up without touching its device: its entries stay as they are until etcd
   * has been read (then {@link resync} reconciles). Without a cluster the device is emptied of entries
   * (a single-host overlay has no peers).
   */
  async adopt(vni: number, vxlan: string): Promise<void> {
    const seg: Segment = { vni, vxlan, loadedAt: -1, peers: new Map() };
    this.#segments.set(vni, seg);
    if (!this.cluster) await this.#lock.run(String(vni), () => this.#reconcile(seg));
  }

  detach(vni: number): void {
    this.#segments.delete(vni);
  }

  /** Re-reads every endpoint and reconciles every device, retrying every second until etcd answers. */
  resync(): Promise<void> {
    return (this.#resyncing ??= this.#resyncUntilDone().finally(() => (this.#resyncing = undefined)));
  }

  /** Other hosts' endpoints on a network, as last read from etcd. */
  peersOf(vni: number): PeerEndpoint[] {
    return [...(this.#segments.get(vni)?.peers.values() ?? [])];
  }

  /** Other hosts' endpoints on a network, and the entries its device really has, for status. */
  async status(vni: number): Promise<{ synced: boolean; peers: PeerEndpoint[]; fdb: Array<{ mac: string; vtep: string }>; neighbors: Array<{ ip: string; mac: string }> } | undefined> {
    const seg = this.#segments.get(vni);
    if (!seg) return undefined;
    const [fdb, neighbors] = await Promise.all([this.kernel.listFdb(seg.vxlan), this.kernel.listNeighbors(seg.vxlan)]);
    return {
      synced: seg.loadedAt >= 0 || !this.cluster,
      peers: this.peersOf(vni),
      fdb: fdb.map((e) => ({ mac: e.mac, vtep: e.dst ?? '' })),
      neighbors: neighbors.map((n) => ({ ip: n.ip, mac: n.mac ?? '' })),
    };
  }

  /** Stops the watch and retries. Kernel entries stay. */
  close(): void {
    this.#closed = true;
    this.#watch?.close();
  }

  async #resyncUntilDone(): Promise<void> {
    const cluster = this.cluster;
    if (!cluster) return;
    for (let failures = 0; !this.#closed; failures++) {
      try {
        const { endpoints, revision } = await cluster.allEndpoints();
        for (const seg of this.#segments.values()) {
          this.#load(seg, endpoints.filter((e) => e.vni === seg.vni).flatMap((e) => e.peer ?? []), revision);
          await this.#lock.run(String(seg.vni), () => this.#reconcile(seg));
        }
        this.#ensureWatch(revision);
        return;
      } catch (err) {
        if (failures === 0) this.log.warn('overlay peers not synced; retrying every second', errorFields(err));
        await new Promise((r) => setTimeout(r, RETRY_MS).unref());
      }
    }
  }

  #load(seg: Segment, peers: PeerEndpoint[], revision: number): void {
    const others = peers.filter((p) => p.host !== this.cluster?.hostId);
    seg.peers = new Map(others.map((p) => [`${p.host}/${p.endpointId}`, p]));
    seg.loadedAt = revision;
  }

  #ensureWatch(revision: number): void {
    if (this.#watch || !this.cluster || this.#closed) return;
    this.#watch = this.cluster.session.client.watchPrefix(ENDPOINTS, revision + 1, {
      onEvents: (events) => this.#onEvents(events),
      onReset: () => void this.resync(),
      onConnection: (up, err) => {
        this.log.info(up ? 'overlay watch connected' : 'overlay watch lost etcd; kernel entries kept', err ? errorFields(err) : {});
        if (up) void this.onReconnected().catch((e: unknown) => this.log.warn('overlay sync after reconnection failed', errorFields(e)));
      },
    });
  }

  #onEvents(events: WatchEvent[]): void {
    for (const ev of events) {
      const parsed = parseEndpoint(ev.kv);
      if (!parsed || parsed.host === this.cluster?.hostId) continue;
      const seg = this.#segments.get(parsed.vni);
      if (!seg || seg.loadedAt < 0 || ev.kv.modRevision <= seg.loadedAt) continue;
      const key = `${parsed.host}/${parsed.endpointId}`;
      void this.#lock
        .run(String(seg.vni), () => this.#apply(seg, key, ev.type === 'put' ? parsed.peer : undefined))
        .catch((err: unknown) => {
          this.log.warn('could not program overlay peer; resyncing', { vni: seg.vni, endpoint: key, ...errorFields(err) });
          void this.resync();
        });
    }
  }

  /** One endpoint appeared, changed (`peer`) or went (`undefined`). */
  async #apply(seg: Segment, key: string, peer: PeerEndpoint | undefined): Promise<void> {
    if (this.#segments.get(seg.vni) !== seg) return;
    const before = desiredEntries(seg.peers.values());
    if (peer) seg.peers.set(key, peer);
    else seg.peers.delete(key);
    await this.#program(seg, before, desiredEntries(seg.peers.values()));
  }

  /** Makes the device's entries exactly the peers'. */
  async #reconcile(seg: Segment): Promise<void> {
    if (this.#segments.get(seg.vni) !== seg) return;
    const [fdb, neighbors] = await Promise.all([this.kernel.listFdb(seg.vxlan), this.kernel.listNeighbors(seg.vxlan)]);
    const actual: SegmentEntries = {
      fdb: new Map(fdb.map((e) => [e.mac.toLowerCase(), e.dst ?? ''])),
      neighbors: new Map(neighbors.map((n) => [n.ip, (n.mac ?? '').toLowerCase()])),
    };
    await this.#program(seg, actual, desiredEntries(seg.peers.values()));
  }

  /** Applies the difference between two sets of entries: removals first, then additions and changes. */
  async #program(seg: Segment, from: SegmentEntries, to: SegmentEntries): Promise<void> {
    for (const [ip] of from.neighbors) if (!to.neighbors.has(ip)) await this.kernel.deleteNeighbor(seg.vxlan, ip);
    for (const [mac] of from.fdb) if (!to.fdb.has(mac)) await this.kernel.deleteFdb(seg.vxlan, mac);
    for (const [mac, vtep] of to.fdb) if (from.fdb.get(mac) !== vtep) await this.kernel.ensureFdb(seg.vxlan, mac, vtep);
    for (const [ip, mac] of to.neighbors) if (from.neighbors.get(ip) !== mac) await this.kernel.ensureNeighbor(seg.vxlan, ip, mac);
    this.onProgrammed(seg.vni);
  }
}
