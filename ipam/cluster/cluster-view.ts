/**
 * @module What one host knows of a cluster pool besides which addresses are held (that is the pool's
 * AddressPool): which endpoint addresses are its own, which addresses are shared by every host of the
 * pool (the gateway and aux addresses), and which claims are in flight. It is read from etcd when the
 * pool is first used after a start or a join, and again whenever the pool looks full; between reads it
 * learns from its own claims and the holders they run into, so it may think an address another host has
 * since released is still held (never the reverse: etcd's create-if-absent decides every claim). Pure.
 */
import type { AddressRecord } from '../core/persistence.js';

/** Whether `held` satisfies a claim for `wanted`: the same shared kind (gateway or aux) at the same address. */
export const sharedAlike = (held: AddressRecord, wanted: AddressRecord) => held.kind === wanted.kind && held.kind !== 'endpoint';

/** One host's knowledge of one cluster pool; see the module comment. */
export class ClusterView {
  readonly hostId: string;
  /** Whether the view was read from etcd since the start or the join. */
  synced = false;
  /** Endpoint addresses this host holds. */
  readonly mine = new Set<string>();
  /** Gateway and aux addresses (shared by the pool's hosts), by address. */
  readonly shared = new Map<string, AddressRecord>();
  /** Claims in flight; a read waits for them, so that it sees what they wrote. */
  readonly inflight = new Set<Promise<unknown>>();

  constructor(hostId: string) {
    this.hostId = hostId;
  }

  /** Replaces what is known with the pool's records as read from etcd. */
  reset(records: readonly AddressRecord[]): void {
    this.mine.clear();
    this.shared.clear();
    for (const r of records) this.note(r);
    this.synced = true;
  }

  /** Learns one held address: claimed here, or found held by whoever claimed it. */
  note(rec: AddressRecord): void {
    if (rec.kind !== 'endpoint') this.shared.set(rec.address, rec);
    else if (rec.host === this.hostId) this.mine.add(rec.address);
  }

  /** The pool's gateway, once some host claimed it. */
  gateway(): AddressRecord | undefined {
    return [...this.shared.values()].find((r) => r.kind === 'gateway');
  }

  /** Tracks a claim until it settles. */
  track(claim: Promise<unknown>): void {
    this.inflight.add(claim);
    void claim.catch(() => undefined).finally(() => this.inflight.delete(claim));
  }

  /** Resolves once every claim in flight has settled. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.inflight]);
  }
}
