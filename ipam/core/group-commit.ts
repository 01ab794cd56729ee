/**
 * @module Group commit: writes that arrive while a durable batch is being written are queued and go
 * out together in the next batch, in arrival order (several ops on one key collapse to the last). Each
 * submitter still waits for its own ops to be durable, but N concurrent allocations cost one fsync
 * instead of N. No knowledge of what is written.
 */
import type { StoreOp } from '../../common/store/store.js';

interface Pending {
  ops: StoreOp[];
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * Keeps only the last op on each key, in the order of those last ops. Equivalent for an atomic batch,
 * and it saves a write per allocation when each one also moves a pool's serial cursor.
 */
export function lastPerKey(ops: readonly StoreOp[]): StoreOp[] {
  const last = new Map<string, StoreOp>();
  for (const op of ops) {
    const key = `${op.collection}\0${op.key}`;
    last.delete(key);
    last.set(key, op);
  }
  return [...last.values()];
}

/** Queues durable writes and writes them in batches; see the module comment. */
export class GroupCommit {
  readonly #write: (ops: StoreOp[]) => Promise<void>;
  #queue: Pending[] = [];
  #writing = false;

  /** `write` applies a batch atomically and durably (e.g. `store.batch`). */
  constructor(write: (ops: StoreOp[]) => Promise<void>) {
    this.#write = write;
  }

  /**
   * Queues `ops`; resolves once they are durable, or rejects with the batch's error (then none of the
   * batch was applied, as batches are atomic). Ops keep their order across submissions. With
   * `laterMs`, no write starts before that many milliseconds (0: the next turn of the event loop), so
   * a write nobody waits for costs the current request nothing and stays off the disk while the
   * caller's own client finishes its work; a plain submit meanwhile takes the ops along, ahead of its own.
   */
  submit(ops: StoreOp[], opts: { laterMs?: number } = {}): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ ops, resolve, reject });
      if (opts.laterMs === undefined) this.#start();
      else if (opts.laterMs === 0) setImmediate(() => this.#start());
      else setTimeout(() => this.#start(), opts.laterMs);
    });
  }

  #start(): void {
    if (!this.#writing && this.#queue.length > 0) void this.#drain();
  }

  async #drain(): Promise<void> {
    this.#writing = true;
    while (this.#queue.length > 0) {
      const batch = this.#queue;
      this.#queue = [];
      try {
        await this.#write(lastPerKey(batch.flatMap((p) => p.ops)));
        for (const p of batch) p.resolve();
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
    }
    this.#writing = false;
  }
}
