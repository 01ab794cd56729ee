/**
 * @module Encrypted overlays, the moving part: per encrypted network this host has, its key ring from
 * etcd (one watch over every ring) and the xfrm states and policies for the VTEPs of its peers
 * (encryption.ts says which), reconciled whenever the ring or the peers change and on a tick. The tick
 * also rekeys: when the active key is older than the network's rekey interval, or when an outbound
 * state of it has carried the rekey volume (its byte counter), this host rolls a new key into the ring
 * by compare-and-swap (the first host wins, the others read its ring). A host that leaves loses its
 * endpoints in etcd, so every other host drops its VTEP's states and policies at the next reconcile.
 *
 * Keys are only in etcd and in the kernel; never logged, never on disk, never in status.
 */
import { KeyedMutex } from '../../../common/keyed-mutex.js';
import { errorFields, type Logger } from '../../../common/log.js';
import type { Watch } from '../../../common/cluster/types.js';
import type { ModeKernel } from '../kernel.js';
import { KEYS, type OverlayCluster, type PeerEndpoint } from './cluster.js';
import { activeKey, desiredXfrm, newKey, pruned, reqidOf, rolled, spiOf, xfrmChanges, type KeyRing } from './encryption.js';
import type { EncryptionConfig } from './options.js';

const TICK_MS = 2_000;

interface Secured {
  vni: number;
  port: number;
  cfg: EncryptionConfig;
  ring?: KeyRing;
  /** etcd's mod revision of the ring as last read (what a rekey compares against). */
  revision?: number;
}

export class EncryptionSync {
  readonly #nets = new Map<number, Secured>();
  readonly #lock = new KeyedMutex();
  #watch: Watch | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly kernel: ModeKernel,
    private readonly cluster: OverlayCluster,
    private readonly vtep: string,
    /** The peers of a network as the peer sync last read them. */
    private readonly peersOf: (vni: number) => PeerEndpoint[],
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Adds an encrypted network: makes its key ring when the cluster has none, reads it and programs the
   * states and policies. `create`: at CreateNetwork (etcd must answer); on start-up the ring is read
   * by the first tick instead, and the kernel keeps what it has meanwhile.
   */
  async attach(vni: number, port: number, cfg: EncryptionConfig, create: boolean): Promise<void> {
    const net: Secured = { vni, port, cfg };
    this.#nets.set(vni, net);
    this.#start();
    if (create) await this.#load(net, true);
  }

  /** Removes the network's states and policies. */
  async detach(vni: number): Promise<void> {
    this.#nets.delete(vni);
    await this.#lock.run(String(vni), async () => {
      const reqid = reqidOf(vni);
      const have = await this.kernel.listXfrm();
      await this.kernel.applyXfrm(xfrmChanges(have, { states: [], policies: [] }, reqid, this.vtep));
    });
  }

  /** The peers of a network changed: programs their VTEPs. */
  peersChanged(vni: number): void {
    const net = this.#nets.get(vni);
    if (net?.ring) void this.#reconcile(net).catch((err: unknown) => this.log.warn('could not program the encrypted overlay', { vni, ...errorFields(err) }));
  }

  /** For status: the key generation sent with and how many are accepted. Never a key. */
  status(vni: number): { keyGeneration?: number; keysAccepted: number } | undefined {
    const net = this.#nets.get(vni);
    if (!net) return undefined;
    const active = net.ring && activeKey(net.ring, this.now());
    return { ...(active ? { keyGeneration: active.gen } : {}), keysAccepted: net.ring?.keys.length ?? 0 };
  }

  close(): void {
    clearInterval(this.#timer);
    this.#watch?.close();
  }

  #start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.tick(), TICK_MS);
    this.#timer.unref();
    this.#watch = this.cluster.session.client.watchPrefix(KEYS, 0, {
      onEvents: (events) => {
        for (const ev of events) {
          const net = this.#nets.get(Number(ev.kv.key.slice(KEYS.length)));
          if (net && ev.type === 'put') {
            net.ring = JSON.parse(ev.kv.value) as KeyRing;
            this.peersChanged(net.vni);
          }
        }
      },
      onReset: () => void this.tick(),
    });
  }

  /** Reads every ring, rekeys what is due, reconciles. Errors are logged; the next tick retries. */
  async tick(): Promise<void> {
    for (const net of this.#nets.values()) {
      try {
        await this.#load(net, false);
        await this.#rekeyIfDue(net);
        await this.#reconcile(net);
      } catch (err) {
        this.log.warn('encrypted overlay not synced; retrying', { vni: net.vni, ...errorFields(err) });
      }
    }
  }

  async #load(net: Secured, create: boolean): Promise<void> {
    for (;;) {
      const got = await this.cluster.readRing(net.vni);
      if (got) {
        net.ring = got.ring;
        net.revision = got.modRevision;
        break;
      }
      if (!create) return;
      if (await this.cluster.swapRing(net.vni, { keys: [newKey(1, this.now())] }, 0)) continue;
    }
    await this.#reconcile(net);
  }

  /** Rolls a new key in when the active one is too old or carried too much; prunes replaced keys. After {@link #load}. */
  async #rekeyIfDue(net: Secured): Promise<void> {
    const now = this.now();
    const { ring, revision } = net;
    if (!ring || revision === undefined) return;
    const active = activeKey(ring, now);
    const newest = ring.keys.at(-1);
    if (!active || !newest) return;
    let reason: string | undefined;
    if (newest === active && active.activeFrom + net.cfg.rekeySeconds * 1000 <= now) reason = 'interval';
    else if (newest === active) {
      const bytes = await this.kernel.xfrmBytes();
      const sent = [...new Set(this.peersOf(net.vni).map((p) => p.vtep))].map((r) => bytes.get(spiOf(active, this.vtep, r)) ?? 0);
      if (sent.some((b) => b >= net.cfg.rekeyBytes)) reason = 'volume';
    }
    const next = reason ? rolled(ring, now) : pruned(ring, now);
    if (next.keys.length === ring.keys.length && !reason) return;
    if (await this.cluster.swapRing(net.vni, next, revision)) {
      net.ring = next;
      if (reason) this.log.info('rekeyed encrypted overlay', { vni: net.vni, generation: next.keys.at(-1)!.gen, reason });
    }
  }

  #reconcile(net: Secured): Promise<void> {
    return this.#lock.run(String(net.vni), async () => {
      if (!net.ring || this.#nets.get(net.vni) !== net) return;
      const remotes = this.peersOf(net.vni).map((p) => p.vtep);
      const want = desiredXfrm({ vni: net.vni, port: net.port, local: this.vtep, remotes, ring: net.ring }, this.now());
      await this.kernel.applyXfrm(xfrmChanges(await this.kernel.listXfrm(), want, reqidOf(net.vni), this.vtep));
    });
  }
}
