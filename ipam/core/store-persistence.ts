/**
 * @module {@link IpamPersistence} over the plugin's local {@link Store} (LevelDB in production, the
 * memory store in unit tests). Collections: `pools` (key: pool ID), `addresses` (key: `<pool ID> <address>`;
 * pool IDs never contain a space) and `cursors` (key: pool ID). Every write goes through one
 * {@link GroupCommit}, so concurrent allocations share an fsync and all writes keep their order.
 */
import type { Store } from '../../common/store/store.js';
import { GroupCommit } from './group-commit.js';
import type { AddressRecord, IpamPersistence, IpamSnapshot, PoolRecord } from './persistence.js';

interface CursorRecord {
  v: 1;
  address: string;
}

const addressKey = (poolId: string, address: string) => `${poolId} ${address}`;

/** The allocator's records in the plugin's local store; see the module comment. */
export class StorePersistence implements IpamPersistence {
  readonly #pools;
  readonly #addresses;
  readonly #cursors;
  readonly #commit: GroupCommit;

  constructor(store: Store) {
    this.#pools = store.collection<PoolRecord>('pools');
    this.#addresses = store.collection<AddressRecord>('addresses');
    this.#cursors = store.collection<CursorRecord>('cursors');
    this.#commit = new GroupCommit((ops) => store.batch(ops));
  }

  async load(): Promise<IpamSnapshot> {
    const [pools, addresses, cursors] = await Promise.all([this.#pools.entries(), this.#addresses.entries(), this.#cursors.entries()]);
    return {
      pools: pools.map(([, p]) => p),
      addresses: addresses.map(([, a]) => a),
      cursors: new Map(cursors.map(([id, c]) => [id, c.address])),
    };
  }

  createPool(pool: PoolRecord): Promise<void> {
    return this.#commit.submit([this.#pools.putOp(pool.id, pool)]);
  }

  deletePool(id: string, addresses: readonly string[]): Promise<void> {
    return this.#commit.submit([
      ...addresses.map((a) => this.#addresses.delOp(addressKey(id, a))),
      this.#cursors.delOp(id),
      this.#pools.delOp(id),
    ]);
  }

  async claimAddress(rec: AddressRecord, cursor?: string): Promise<undefined> {
    const ops = [this.#addresses.putOp(addressKey(rec.poolId, rec.address), rec)];
    if (cursor !== undefined) ops.push(this.#cursors.putOp(rec.poolId, { v: 1, address: cursor }));
    await this.#commit.submit(ops);
    return undefined;
  }

  releaseAddresses(poolId: string, addresses: readonly string[]): Promise<void> {
    return this.#commit.submit(addresses.map((a) => this.#addresses.delOp(addressKey(poolId, a))));
  }

  async addresses(poolId: string): Promise<AddressRecord[]> {
    return (await this.#addresses.entries()).map(([, a]) => a).filter((a) => a.poolId === poolId);
  }
}
