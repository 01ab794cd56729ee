/**
 * @module LevelDB {@link Store} (classic-level). One directory per plugin process (LevelDB locks it);
 * each collection is a sublevel. Every write uses `sync: true`, so it is on disk before the promise
 * resolves and survives `kill -9` and power loss alike.
 */
import { mkdir } from 'node:fs/promises';
import { ClassicLevel } from 'classic-level';
import { checkCollectionName, makeOps, type Collection, type Store, type StoreOp } from './store.js';
import { StoreOpenError } from './errors.js';

type Db = ClassicLevel<string, string>;
type Sub = ReturnType<typeof subOf>;

const subOf = (db: Db, name: string) => db.sublevel<string, string>(name, { keyEncoding: 'utf8', valueEncoding: 'utf8' });

export class LevelStore implements Store {
  readonly #db: Db;
  readonly #subs = new Map<string, Sub>();

  private constructor(db: Db) {
    this.#db = db;
  }

  /** Opens (creating if needed) the LevelDB at `dir`. Fails clearly if another process holds it. */
  static async open(dir: string): Promise<LevelStore> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const db: Db = new ClassicLevel(dir, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    try {
      await db.open();
    } catch (err) {
      const cause = (err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message;
      throw new StoreOpenError(`cannot open state store ${dir}: ${cause}`, { cause: err });
    }
    return new LevelStore(db);
  }

  collection<T>(name: string): Collection<T> {
    checkCollectionName(name);
    const sub = this.#sub(name);
    return {
      get: async (key) => {
        const raw = await sub.get(key);
        return raw === undefined ? undefined : (JSON.parse(raw) as T);
      },
      put: (key, value) => this.batch([{ type: 'put', collection: name, key, value }]),
      del: (key) => this.batch([{ type: 'del', collection: name, key }]),
      entries: async (prefix = '') => {
        const out: Array<[string, T]> = [];
        const range = prefix === '' ? {} : { gte: prefix, lt: prefix + '\uffff' };
        for await (const [k, v] of sub.iterator(range)) out.push([k, JSON.parse(v) as T]);
        return out;
      },
      ...makeOps<T>(name),
    };
  }

  async batch(ops: StoreOp[]): Promise<void> {
    if (ops.length === 0) return;
    const chained = this.#db.batch();
    for (const op of ops) {
      const sub = this.#sub(op.collection);
      if (op.type === 'put') chained.put(op.key, JSON.stringify(op.value), { sublevel: sub });
      else chained.del(op.key, { sublevel: sub });
    }
    await chained.write({ sync: true });
  }

  async close(): Promise<void> {
    await this.#db.close();
  }

  /** One sublevel object per collection: building one per write cost a third of a small batch's time. */
  #sub(name: string): Sub {
    let sub = this.#subs.get(name);
    if (!sub) this.#subs.set(name, (sub = subOf(this.#db, name)));
    return sub;
  }
}
