/**
 * @module The contract every {@link Store} implementation passes. Each implementation's test file
 * calls {@link runStoreContract} with a factory; nothing here runs on its own.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Store } from '../store.js';

export function runStoreContract(name: string, open: () => Promise<Store>): void {
  describe(`${name} store contract`, () => {
    const opened: Store[] = [];
    const fresh = async () => {
      const s = await open();
      opened.push(s);
      return s;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((s) => s.close().catch(() => undefined)));
    });

    it('returns undefined for a missing key and the value after put', async () => {
      const c = (await fresh()).collection<{ n: number }>('things');
      expect(await c.get('a')).toBeUndefined();
      await c.put('a', { n: 1 });
      expect(await c.get('a')).toEqual({ n: 1 });
    });

    it('does not alias stored values', async () => {
      const c = (await fresh()).collection<{ n: number }>('things');
      const v = { n: 1 };
      await c.put('a', v);
      v.n = 2;
      const got = await c.get('a');
      expect(got).toEqual({ n: 1 });
      got!.n = 3;
      expect(await c.get('a')).toEqual({ n: 1 });
    });

    it('keeps collections apart', async () => {
      const s = await fresh();
      await s.collection<string>('networks').put('x', 'net');
      await s.collection<string>('endpoints').put('x', 'ep');
      expect(await s.collection<string>('networks').get('x')).toBe('net');
      expect(await s.collection<string>('endpoints').get('x')).toBe('ep');
      expect(await s.collection<string>('pools').entries()).toEqual([]);
    });

    it('lists entries ordered by key', async () => {
      const c = (await fresh()).collection<number>('n');
      for (const k of ['b', 'c', 'a', 'a-1']) await c.put(k, k.length);
      expect((await c.entries()).map(([k]) => k)).toEqual(['a', 'a-1', 'b', 'c']);
    });

    it('lists only the keys under a prefix', async () => {
      const c = (await fresh()).collection<number>('n');
      for (const k of ['n1/e1', 'n1/e2', 'n10/e1', 'n2/e1', 'n1']) await c.put(k, 0);
      expect((await c.entries('n1/')).map(([k]) => k)).toEqual(['n1/e1', 'n1/e2']);
      expect(await c.entries('zz')).toEqual([]);
    });

    it('deletes idempotently', async () => {
      const c = (await fresh()).collection<number>('n');
      await c.put('a', 1);
      await c.del('a');
      await c.del('a');
      await c.del('never');
      expect(await c.get('a')).toBeUndefined();
    });

    it('applies a batch across collections all at once', async () => {
      const s = await fresh();
      const nets = s.collection<string>('networks');
      const eps = s.collection<string>('endpoints');
      await eps.put('old', 'x');
      await s.batch([nets.putOp('n1', 'a'), eps.putOp('e1', 'b'), eps.delOp('old')]);
      expect(await nets.get('n1')).toBe('a');
      expect(await eps.entries()).toEqual([['e1', 'b']]);
    });

    it('rejects invalid collection names', async () => {
      const s = await fresh();
      expect(() => s.collection('Bad/Name')).toThrow(/invalid collection name "Bad\/Name"/);
    });

    it('refuses use after close', async () => {
      const s = await fresh();
      await s.close();
      await expect(s.collection('n').get('a')).rejects.toThrow();
    });
  });
}
