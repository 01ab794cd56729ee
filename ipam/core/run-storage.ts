/**
 * @module Storage of the runs of an {@link IntervalSet}: two parallel columns (starts, ends) with
 * positional insert and remove. Values below 2^64 (offsets inside any IPv4 pool or an IPv6 pool up to a
 * /64) go in BigUint64Arrays that grow by half when full, 16 bytes a run; larger values in plain bigint
 * arrays (~80 bytes a run). Pure data structure; no I/O.
 */

type Column = BigUint64Array | bigint[];

function insertAt(col: Column, i: number, v: bigint, length: number): Column {
  if (Array.isArray(col)) {
    col.splice(i, 0, v);
    return col;
  }
  let out = col;
  if (length === col.length) {
    out = new BigUint64Array(length + (length >> 1));
    out.set(col);
  }
  out.copyWithin(i + 1, i, length);
  out[i] = v;
  return out;
}

function removeAt(col: Column, i: number, length: number): void {
  if (Array.isArray(col)) col.splice(i, 1);
  else col.copyWithin(i, i + 1, length);
}

/** Parallel start/end columns of runs. Indexes are not checked: callers stay in `[0, length)`. */
export class RunStorage {
  #starts: Column;
  #ends: Column;
  #length = 0;

  /** Storage for values in `[0, maxValue]`, in the most compact form that holds them. */
  constructor(maxValue: bigint) {
    const typed = maxValue < 1n << 64n;
    this.#starts = typed ? new BigUint64Array(8) : [];
    this.#ends = typed ? new BigUint64Array(8) : [];
  }

  get length(): number {
    return this.#length;
  }
  start(i: number): bigint {
    return this.#starts[i]!;
  }
  end(i: number): bigint {
    return this.#ends[i]!;
  }
  setStart(i: number, v: bigint): void {
    this.#starts[i] = v;
  }
  setEnd(i: number, v: bigint): void {
    this.#ends[i] = v;
  }

  /** Inserts run `[s, e]` at index `i`, shifting later runs up. */
  insert(i: number, s: bigint, e: bigint): void {
    this.#starts = insertAt(this.#starts, i, s, this.#length);
    this.#ends = insertAt(this.#ends, i, e, this.#length);
    this.#length++;
  }

  /** Removes the run at index `i`. */
  remove(i: number): void {
    removeAt(this.#starts, i, this.#length);
    removeAt(this.#ends, i, this.#length);
    this.#length--;
  }
}
