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
  /** Other hosts' endpoints and the entries they call for. */
  peers: PeerEntries;
}

/** What a segment's device should hold. */
export interface SegmentEntries {
  /** MAC → VTEP. */
  fdb: Map<string, string>;
  /** IP → MAC. */
  neighbors: Map<string, string>;
}

/** The key of a peer in a segment: `host/endpointId`. */
export const peerKey = (p: Pick<PeerEndpoint, 'host' | 'endpointId'>) => `${p.host}/${p.endpointId}`;

/** Entry (MAC or IP) → peer key → value, in the order the peers claimed it. */
type Claims = Map<string, Map<string, string>>;

const first = (claims: Map<string, string> | undefined): string | undefined => (claims ? claims.values().next().value : undefined);

/**
 * A segment's peers and the entries they call for, kept up to date one peer at a time: each FDB entry
 * (MAC) and neighbour entry (IP) records the peers that claim it, and the one that claimed it first wins
 * (a MAC published twice keeps the first VTEP; dockerd's random MACs never collide in practice).
 * Changing one peer touches only its own MAC and addresses, whatever the number of peers.
 */
export class PeerEntries {
  readonly #peers = new Map<string, PeerEndpoint>();
  /** MAC → peer key → VTEP. */
  readonly #fdb: Claims = new Map();
  /** IP → peer key → MAC. */
  readonly #neighbors: Claims = new Map();

  constructor(peers: Iterable<PeerEndpoint> = []) {
    for (const p of peers) this.set(peerKey(p), p);
  }

  get size(): number {
    return this.#peers.size;
  }

  values(): IterableIterator<PeerEndpoint> {
    return this.#peers.values();
  }

  /**
   * Adds, replaces (`peer`) or removes (`undefined`) the peer `key`; returns the entries that changed,
   * as they were (`from`) and as they are now (`to`), only those of that peer's MACs and addresses.
   */
  set(key: string, peer: PeerEndpoint | undefined): { from: SegmentEntries; to: SegmentEntries } {
    const old = this.#peers.get(key);
    const claimsOf = (p: PeerEndpoint | undefined) => ({
      fdb: p ? new Map([[p.mac.toLowerCase(), p.vtep]]) : new Map<string, string>(),
      neighbors: new Map([p?.ip, p?.ip6].flatMap((ip) => (ip === undefined ? [] : [[ip, p!.mac.toLowerCase()] as const]))),
    });
    const before = claimsOf(old);
    const after = claimsOf(peer);
    const from: SegmentEntries = { fdb: new Map(), neighbors: new Map() };
    const to: SegmentEntries = { fdb: new Map(), neighbors: new Map() };
    for (const kind of ['fdb', 'neighbors'] as const) {
      const claims = kind === 'fdb' ? this.#fdb : this.#neighbors;
      const touched = new Set([...before[kind].keys(), ...after[kind].keys()]);
      for (const k of touched) {
        const was = first(claims.get(k));
        if (was !== undefined) from[kind].set(k, was);
      }
      for (const k of before[kind].keys()) {
        if (after[kind].has(k)) continue;
        const c = claims.get(k)!;
        c.delete(key);
        if (c.size === 0) claims.delete(k);
      }
      // Map.set keeps a claimant's place when it only changes its value.
      for (const [k, v] of after[kind]) claims.set(k, (claims.get(k) ?? new Map<string, string>()).set(key, v));
      for (const k of touched) {
        const now = first(claims.get(k));
        if (now !== undefined) to[kind].set(k, now);
      }
    }
    if (peer) this.#peers.set(key, peer);
    else this.#peers.delete(key);
    return { from, to };
  }

  /** Every entry the peers call for (a pass over all of them: start-up and resync only). */
  entries(): SegmentEntries {
    const winners = (claims: Claims) => new Map([...claims].map(([k, c]) => [k, first(c)!] as const));
    return { fdb: winners(this.#fdb), neighbors: winners(this.#neighbors) };
  }
}

/** The entries the peers call for; see {@link PeerEntries}. */
export function desiredEntries(peers: Iterable<PeerEndpoint>): SegmentEntries {
  return new PeerEntries(peers).entries();
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
    const seg: Segment = { vni, vxlan, loadedAt: -1, peers: new PeerEntries() };
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
    const seg: Segment = { vni, vxlan, loadedAt: -1, peers: new PeerEntries() };
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
    seg.peers = new PeerEntries(peers.filter((p) => p.host !== this.cluster?.hostId));
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
      const key = peerKey(parsed);
      void this.#lock
        .run(String(seg.vni), () => this.#apply(seg, key, ev.type === 'put' ? parsed.peer : undefined))
        .catch((err: unknown) => {
          this.log.warn('could not program overlay peer; resyncing', { vni: seg.vni, endpoint: key, ...errorFields(err) });
          void this.resync();
        });
    }
  }

  /** One endpoint appeared, changed (`peer`) or went (`undefined`): only its own entries are looked at. */
  async #apply(seg: Segment, key: string, peer: PeerEndpoint | undefined): Promise<void> {
    if (this.#segments.get(seg.vni) !== seg) return;
    const { from, to } = seg.peers.set(key, peer);
    await this.#program(seg, from, to);
  }

  /** Makes the device's entries exactly the peers'. */
  async #reconcile(seg: Segment): Promise<void> {
    if (this.#segments.get(seg.vni) !== seg) return;
    const [fdb, neighbors] = await Promise.all([this.kernel.listFdb(seg.vxlan), this.kernel.listNeighbors(seg.vxlan)]);
    const actual: SegmentEntries = {
      fdb: new Map(fdb.map((e) => [e.mac.toLowerCase(), e.dst ?? ''])),
      neighbors: new Map(neighbors.map((n) => [n.ip, (n.mac ?? '').toLowerCase()])),
    };
    await this.#program(seg, actual, seg.peers.entries());
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
