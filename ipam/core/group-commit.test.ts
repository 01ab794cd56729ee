import { describe, expect, it } from 'vitest';
import type { StoreOp } from '../../common/store/store.js';
import { GroupCommit, lastPerKey } from './group-commit.js';

const put = (key: string, value: unknown): StoreOp => ({ type: 'put', collection: 'c', key, value });
const del = (key: string): StoreOp => ({ type: 'del', collection: 'c', key });

describe('GroupCommit', () => {
  it('writes what arrives during a write as one batch, in order, and resolves each submitter after it', async () => {
    const batches: StoreOp[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const gc = new GroupCommit(async (ops) => {
      batches.push(ops);
      if (batches.length === 1) await gate;
    });
    const done: string[] = [];
    const first = gc.submit([put('a', 1)]).then(() => done.push('a'));
    const rest = ['b', 'c', 'd'].map((k) => gc.submit([put(k, 1)]).then(() => done.push(k)));
    await Promise.resolve();
    expect(done).toEqual([]); // nobody is answered before the write is durable
    release();
    await Promise.all([first, ...rest]);
    expect(batches.map((b) => b.map((op) => op.key))).toEqual([['a'], ['b', 'c', 'd']]);
    expect(done).toEqual(['a', 'b', 'c', 'd']);
  });

  it('starts a later submit on the next turn of the event loop, unless a plain submit takes it along first', async () => {
    const batches: StoreOp[][] = [];
    const gc = new GroupCommit(async (ops) => {
      batches.push(ops);
    });
    const deleted = gc.submit([del('a')], { laterMs: 0 });
    await Promise.resolve();
    expect(batches).toEqual([]);
    await deleted;
    expect(batches).toEqual([[del('a')]]);

    const again = gc.submit([del('b')], { laterMs: 0 });
    await gc.submit([put('b', 2)]);
    await again;
    expect(batches.slice(1)).toEqual([[put('b', 2)]]); // the delete went first and collapsed into the put
  });

  it('holds a submit with laterMs for that long', async () => {
    const batches: StoreOp[][] = [];
    const gc = new GroupCommit(async (ops) => {
      batches.push(ops);
    });
    const t0 = Date.now();
    const deleted = gc.submit([del('a')], { laterMs: 40 });
    await new Promise((r) => setTimeout(r, 10));
    expect(batches).toEqual([]);
    await deleted;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(39);
    expect(batches).toEqual([[del('a')]]);
  });

  it('rejects every submitter of a failed batch, and goes on with the next', async () => {
    let calls = 0;
    const diskFull = new Error('disk full');
    const gc = new GroupCommit(async () => {
      if (++calls === 1) throw diskFull;
    });
    await expect(gc.submit([put('a', 1)])).rejects.toBe(diskFull);
    await expect(gc.submit([put('b', 1)])).resolves.toBeUndefined();
  });

  it('keeps only the last op on a key, which leaves an atomic batch equivalent', () => {
    expect(lastPerKey([put('cursor', 1), put('x', 1), put('cursor', 2), del('x'), put('y', 1)])).toEqual([put('cursor', 2), del('x'), put('y', 1)]);
    expect(lastPerKey([put('k', 1), { ...put('k', 2), collection: 'other' }])).toHaveLength(2);
  });
});
