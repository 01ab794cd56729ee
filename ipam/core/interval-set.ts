/**
 * @module A set of bigints in a fixed domain `[lo, hi]`, kept as sorted, disjoint, non-adjacent runs
 * `[start, end]`. Memory grows with the number of runs (gaps between allocated addresses), never with the
 * size of the domain, so a /8 or an IPv6 /64 costs the same as a /24; runs are stored as offsets from
 * `lo`, in 16 bytes each when the domain has at most 2^64 values (see run-storage.ts). Pure; no I/O.
 *
 * Invariant: `start(i) <= end(i) < start(i + 1) - 1` (runs never touch: touching runs are merged).
 */
import { RunStorage } from './run-storage.js';

/** Sorted runs of bigints in a fixed domain; see the module comment. */
export class IntervalSet {
  readonly #lo: bigint;
  readonly #hi: bigint;
  readonly #runs: RunStorage;
  #size = 0n;

  /** An empty set of values from `lo` to `hi` (inclusive); values outside are never members. */
  constructor(lo = 0n, hi = (1n << 128n) - 1n) {
    this.#lo = lo;
    this.#hi = hi;
    this.#runs = new RunStorage(hi - lo);
  }

  /** How many values the set holds. */
  get size(): bigint {
    return this.#size;
  }

  /** How many runs the set is stored as (its memory is proportional to this). */
  get runCount(): number {
    return this.#runs.length;
  }

  /** Whether `x` is in the set. */
  has(x: bigint): boolean {
    if (x < this.#lo || x > this.#hi) return false;
    const o = x - this.#lo;
    const i = this.#runAtOrBefore(o);
    return i >= 0 && o <= this.#runs.end(i);
  }

  /** Adds `x`; returns false (and changes nothing) when it was already there. Throws RangeError outside the domain. */
  add(x: bigint): boolean {
    if (x < this.#lo || x > this.#hi) throw new RangeError(`${x} is outside the set's domain`);
    const runs = this.#runs;
    const o = x - this.#lo;
    const i = this.#runAtOrBefore(o);
    if (i >= 0 && o <= runs.end(i)) return false;
    const joinsLeft = i >= 0 && runs.end(i) === o - 1n;
    const joinsRight = i + 1 < runs.length && runs.start(i + 1) === o + 1n;
    if (joinsLeft && joinsRight) {
      runs.setEnd(i, runs.end(i + 1));
      runs.remove(i + 1);
    } else if (joinsLeft) {
      runs.setEnd(i, o);
    } else if (joinsRight) {
      runs.setStart(i + 1, o);
    } else {
      runs.insert(i + 1, o, o);
    }
    this.#size++;
    return true;
  }

  /** Removes `x`; returns false when it was not there. */
  delete(x: bigint): boolean {
    if (x < this.#lo || x > this.#hi) return false;
    const runs = this.#runs;
    const o = x - this.#lo;
    const i = this.#runAtOrBefore(o);
    if (i < 0 || o > runs.end(i)) return false;
    const start = runs.start(i);
    const end = runs.end(i);
    if (start === end) runs.remove(i);
    else if (o === start) runs.setStart(i, o + 1n);
    else if (o === end) runs.setEnd(i, o - 1n);
    else {
      runs.setEnd(i, o - 1n);
      runs.insert(i + 1, o + 1n, end);
    }
    this.#size--;
    return true;
  }

  /** The smallest value in `[from, to]` that is NOT in the set, or undefined when all are. O(log runs). */
  firstAbsent(from: bigint, to: bigint): bigint | undefined {
    if (from > to) return undefined;
    if (from < this.#lo || from > this.#hi) return from;
    const o = from - this.#lo;
    const i = this.#runAtOrBefore(o);
    // Runs never touch, so the value after a run's end is always absent.
    const x = i >= 0 && o <= this.#runs.end(i) ? this.#runs.end(i) + 1n + this.#lo : from;
    return x <= to ? x : undefined;
  }

  /** How many values of `[lo, hi]` are in the set. O(log runs + runs inside). */
  countIn(lo: bigint, hi: bigint): bigint {
    const a = (lo > this.#lo ? lo : this.#lo) - this.#lo;
    const b = (hi < this.#hi ? hi : this.#hi) - this.#lo;
    let n = 0n;
    for (let i = Math.max(0, this.#runAtOrBefore(a)); i < this.#runs.length && this.#runs.start(i) <= b; i++) {
      const s = this.#runs.start(i) > a ? this.#runs.start(i) : a;
      const e = this.#runs.end(i) < b ? this.#runs.end(i) : b;
      if (s <= e) n += e - s + 1n;
    }
    return n;
  }

  /** The runs in ascending order, as `[start, end]` pairs. */
  *runs(): IterableIterator<[bigint, bigint]> {
    for (let i = 0; i < this.#runs.length; i++) yield [this.#runs.start(i) + this.#lo, this.#runs.end(i) + this.#lo];
  }

  /** Index of the last run starting at or before offset `o`, or -1. */
  #runAtOrBefore(o: bigint): number {
    const runs = this.#runs;
    const n = runs.length;
    // Serial allocation appends at the end: check the last run before searching.
    if (n === 0 || runs.start(0) > o) return -1;
    if (runs.start(n - 1) <= o) return n - 1;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (runs.start(mid) <= o) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}
