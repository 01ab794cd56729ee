/**
 * @module A token bucket per source address, so that one container flooding the responder uses its
 * own budget and no one else's. The table of buckets is bounded: past {@link MAX_SOURCES} addresses,
 * the oldest bucket is dropped (a dropped source starts again with a full bucket).
 */

const MAX_SOURCES = 4096;

export interface RateLimitOptions {
  /** Queries per second each source may send on average. */
  perSecond: number;
  /** How many may come at once (bucket size). */
  burst: number;
  /** Clock in ms (tests). */
  now?: () => number;
}

export class RateLimiter {
  readonly #perMs: number;
  readonly #burst: number;
  readonly #now: () => number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(opts: RateLimitOptions) {
    this.#perMs = opts.perSecond / 1000;
    this.#burst = opts.burst;
    this.#now = opts.now ?? Date.now;
  }

  /** Takes one token of `source`'s bucket; false when it is empty. */
  take(source: string): boolean {
    const now = this.#now();
    let b = this.#buckets.get(source);
    if (!b) {
      if (this.#buckets.size >= MAX_SOURCES) this.#buckets.delete(this.#buckets.keys().next().value!);
      b = { tokens: this.#burst, at: now };
      this.#buckets.set(source, b);
    } else {
      b.tokens = Math.min(this.#burst, b.tokens + (now - b.at) * this.#perMs);
      b.at = now;
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
