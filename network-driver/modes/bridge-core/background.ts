/**
 * @module Kernel work bridge mode does not make dockerd wait for: deleting an endpoint's veth pair takes
 * ~20 ms (the kernel waits for an RCU grace period) and nothing depends on its end, except deleting the
 * network's bridge, which waits for its network's pending work first. (The delete runs in a child
 * process, see common/kernel/link-delete.ts: in-process it would hold up the next store write anyway.) A failure is logged; restore
 * removes whatever a crash left undone.
 */
import { errorFields, type Logger } from '../../../common/log.js';

export class BackgroundWork {
  readonly #pending = new Map<string, Set<Promise<void>>>();
  readonly #log: Logger;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Runs `work` without waiting for it, filed under `key` (a network ID); `what` names it in the log. */
  start(key: string, what: string, work: () => Promise<void>): void {
    const set = this.#pending.get(key) ?? new Set();
    this.#pending.set(key, set);
    const p: Promise<void> = work()
      .catch((err: unknown) => this.#log.warn('background kernel work failed', { what, ...errorFields(err) }))
      .finally(() => {
        set.delete(p);
        if (set.size === 0 && this.#pending.get(key) === set) this.#pending.delete(key);
      });
    set.add(p);
  }

  /** Resolves when everything started under `key` so far has finished. */
  async settle(key: string): Promise<void> {
    await Promise.all([...(this.#pending.get(key) ?? [])]);
  }
}
