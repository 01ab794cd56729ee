/**
 * @module Bytes used by plain-directory volumes, which only a tree walk (`du`) can tell. dockerd calls
 * Get before every `docker run -v` and `docker volume rm` and once per volume at its start, so a Get
 * must never wait on a walk: results are cached with their time, a stale one is refreshed in the
 * background while the last figure is served, and only a `fresh` read (`tsnet volume ls`)
 * waits. At most `concurrency` walks run at once.
 */

/** A measurement and when it was taken. */
export interface Measured {
  bytes: number;
  at: Date;
}

/** Tuning of {@link UsageMeter}. */
export interface UsageMeterOptions {
  /** A figure younger than this is served without measuring again. Default 10 s. */
  maxAgeMs?: number;
  /**
   * How long a non-`fresh` read waits for a new figure before serving the last one. Default 0: it
   * never waits (a walk that a Get waited for cost a `docker volume rm` of an idle volume 8-55 ms).
   */
  waitMs?: number;
  /** Walks running at once. Default 2. */
  concurrency?: number;
}

/** Cached, rate-limited `du` figures per volume. */
export class UsageMeter {
  readonly #measure: (path: string) => Promise<number>;
  readonly #maxAgeMs: number;
  readonly #waitMs: number;
  readonly #concurrency: number;
  readonly #known = new Map<string, Measured>();
  readonly #pending = new Map<string, Promise<Measured | undefined>>();
  readonly #waiting: Array<() => void> = [];
  #active = 0;

  constructor(measure: (path: string) => Promise<number>, opts: UsageMeterOptions = {}) {
    this.#measure = measure;
    this.#maxAgeMs = opts.maxAgeMs ?? 10_000;
    this.#waitMs = opts.waitMs ?? 0;
    this.#concurrency = opts.concurrency ?? 2;
  }

  /**
   * Usage of `path`, cached under `key`. With `fresh`, always measures and waits for it; otherwise
   * serves a recent figure, or starts a new walk, waits for it up to `waitMs` and else serves the
   * last known (`undefined` if none). A failed walk keeps the last figure.
   */
  async read(key: string, path: string, opts: { fresh?: boolean } = {}): Promise<Measured | undefined> {
    const known = this.#known.get(key);
    if (!opts.fresh && known && Date.now() - known.at.getTime() < this.#maxAgeMs) return known;
    const next = this.#refresh(key, path);
    if (opts.fresh) return (await next) ?? known;
    if (this.#waitMs <= 0) return known;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), this.#waitMs)));
    try {
      return (await Promise.race([next, timeout])) ?? known;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Records a figure known without measuring (e.g. 0 for a volume just created). */
  set(key: string, bytes: number): void {
    this.#known.set(key, { bytes, at: new Date() });
  }

  /** Drops everything known about `key` (the volume is gone); a walk in flight is then ignored. */
  forget(key: string): void {
    this.#known.delete(key);
    this.#pending.delete(key);
  }

  #refresh(key: string, path: string): Promise<Measured | undefined> {
    const inFlight = this.#pending.get(key);
    if (inFlight) return inFlight;
    const p = this.#limited(() => this.#measure(path)).then(
      (bytes) => {
        const m = { bytes, at: new Date() };
        if (this.#pending.get(key) === p) this.#known.set(key, m);
        return m;
      },
      () => undefined,
    );
    this.#pending.set(key, p);
    void p.finally(() => {
      if (this.#pending.get(key) === p) this.#pending.delete(key);
    });
    return p;
  }

  async #limited<T>(fn: () => Promise<T>): Promise<T> {
    while (this.#active >= this.#concurrency) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#active++;
    try {
      return await fn();
    } finally {
      this.#active--;
      this.#waiting.shift()?.();
    }
  }
}
