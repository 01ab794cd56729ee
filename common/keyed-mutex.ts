/**
 * @module Serialises async work per key (a network ID, a pool ID, a volume name), as Docker may call
 * concurrently for one object. Different keys run in parallel; a key's queue is dropped when idle.
 */
export class KeyedMutex {
  #tails = new Map<string, Promise<unknown>>();

  /** Runs `fn` after every earlier `run` for `key` has settled; resolves or rejects with `fn`'s result. */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(key) ?? Promise.resolve();
    const result = prev.then(fn, fn);
    const tail = result.catch(() => undefined);
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }
}
