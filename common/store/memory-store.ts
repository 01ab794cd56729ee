/**
 * @module In-memory {@link Store}, for unit tests of driver logic. Same contract as LevelDB (see
 * store.contract.ts); values are deep-copied in and out so callers cannot alias stored state.
 */
import { checkCollectionName, makeOps, type Collection, type Store, type StoreOp } from './store.js';

export class MemoryStore implements Store {
  #data = new Map<string, Map<string, string>>();
  #closed = false;

  collection<T>(name: string): Collection<T> {
    checkCollectionName(name);
    return {
      get: async (key) => {
        const raw = this.#map(name).get(key);
        return raw === undefined ? undefined : (JSON.parse(raw) as T);
      },
      put: (key, value) => this.batch([{ type: 'put', collection: name, key, value }]),
      del: (key) => this.batch([{ type: 'del', collection: name, key }]),
      entries: async (prefix = '') =>
        [...this.#map(name).entries()]
          .filter(([k]) => k.startsWith(prefix))
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([k, v]) => [k, JSON.parse(v) as T]),
      ...makeOps<T>(name),
    };
  }

  async batch(ops: StoreOp[]): Promise<void> {
    this.#check();
    const encoded = ops.map((op) => (op.type === 'put' ? { ...op, raw: JSON.stringify(op.value) } : op));
    for (const op of encoded) {
      if (op.type === 'put') this.#map(op.collection).set(op.key, op.raw);
      else this.#map(op.collection).delete(op.key);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #map(name: string): Map<string, string> {
    this.#check();
    let m = this.#data.get(name);
    if (!m) this.#data.set(name, (m = new Map()));
    return m;
  }

  #check(): void {
    if (this.#closed) throw new Error('store is closed');
  }
}
