import { describe, expect, it } from 'vitest';
import { IntervalSet } from './interval-set.js';
import { seededRandom } from '../testing/fixture-allocator.js';

const runs = (s: IntervalSet) => [...s.runs()];

describe('IntervalSet', () => {
  it('merges touching values into runs and splits them on delete', () => {
    const s = new IntervalSet();
    for (const x of [5n, 7n, 6n, 1n, 2n]) expect(s.add(x)).toBe(true);
    expect(runs(s)).toEqual([[1n, 2n], [5n, 7n]]);
    expect(s.add(6n)).toBe(false);
    expect(s.size).toBe(5n);
    expect(s.delete(6n)).toBe(true);
    expect(runs(s)).toEqual([[1n, 2n], [5n, 5n], [7n, 7n]]);
    expect(s.delete(6n)).toBe(false);
    expect(s.delete(1n) && s.delete(2n)).toBe(true);
    expect(runs(s)).toEqual([[5n, 5n], [7n, 7n]]);
    expect(s.size).toBe(2n);
  });

  it('finds the first absent value in a range, or none', () => {
    const s = new IntervalSet();
    for (let x = 10n; x <= 20n; x++) s.add(x);
    s.add(22n);
    expect(s.firstAbsent(0n, 100n)).toBe(0n);
    expect(s.firstAbsent(10n, 100n)).toBe(21n);
    expect(s.firstAbsent(22n, 100n)).toBe(23n);
    expect(s.firstAbsent(10n, 20n)).toBeUndefined();
    expect(s.firstAbsent(5n, 4n)).toBeUndefined();
  });

  it('counts members inside a range', () => {
    const s = new IntervalSet();
    for (const x of [1n, 2n, 3n, 10n, 11n, 50n]) s.add(x);
    expect(s.countIn(0n, 100n)).toBe(6n);
    expect(s.countIn(2n, 10n)).toBe(3n);
    expect(s.countIn(4n, 9n)).toBe(0n);
    expect(s.countIn(11n, 11n)).toBe(1n);
  });

  it('works with 128-bit values without memory for the space between them', () => {
    const s = new IntervalSet();
    const top = (1n << 128n) - 1n;
    s.add(0n);
    s.add(top);
    expect(s.runCount).toBe(2);
    expect(s.firstAbsent(0n, top)).toBe(1n);
    expect(s.countIn(0n, top)).toBe(2n);
  });

  it('refuses values outside its domain, and finds them absent', () => {
    const s = new IntervalSet(100n, 200n);
    expect(() => s.add(99n)).toThrow(RangeError);
    expect(s.has(201n)).toBe(false);
    expect(s.delete(201n)).toBe(false);
    expect(s.firstAbsent(50n, 300n)).toBe(50n);
    s.add(100n);
    expect(s.firstAbsent(100n, 300n)).toBe(101n);
  });

  it.each([
    ['plain bigint storage (domain of 2^128)', () => new IntervalSet()],
    ['typed-array storage (domain below 2^64)', () => new IntervalSet(0n, 299n)],
  ])('property: behaves like a plain Set under random adds, deletes and searches, %s', (_name, make) => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const rnd = seededRandom(seed);
      const s = make();
      const ref = new Set<bigint>();
      for (let i = 0; i < 4000; i++) {
        const x = BigInt(Math.floor(rnd() * 300));
        if (rnd() < 0.6) expect(s.add(x)).toBe(!ref.has(x) && (ref.add(x), true));
        else expect(s.delete(x)).toBe(ref.delete(x));
        if (i % 50 === 0) {
          const from = BigInt(Math.floor(rnd() * 300));
          let want: bigint | undefined;
          for (let y = from; y < 300n; y++) if (!ref.has(y)) (want ??= y);
          expect(s.firstAbsent(from, 299n)).toBe(want);
        }
      }
      expect(s.size).toBe(BigInt(ref.size));
      const flat = runs(s).flatMap(([a, b]) => Array.from({ length: Number(b - a + 1n) }, (_, k) => a + BigInt(k)));
      expect(flat).toEqual([...ref].sort((a, b) => (a < b ? -1 : 1)));
      // Runs are disjoint and never touch.
      const r = runs(s);
      for (let k = 1; k < r.length; k++) expect(r[k]![0] > r[k - 1]![1] + 1n).toBe(true);
    }
  });
});
