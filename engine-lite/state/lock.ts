/**
 * @module The state lock that serialises engine-lite commands' short read-modify-write sections.
 * It is a listening socket in Linux's abstract namespace, named after the state directory: the
 * kernel gives it to one process at a time and frees it when that process dies, even by kill -9, so
 * there is no stale lock file to break. Plugin calls and waits happen outside the lock.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { EngineError } from '../errors.js';

const TIMEOUT_MS = 60_000;

function listen(name: string): Promise<Server | undefined> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve(undefined) : reject(err)));
    server.listen({ path: name, exclusive: true }, () => resolve(server));
  });
}

/** The abstract socket name of the lock of `stateDir` (a resolved path). */
export function lockSocketName(stateDir: string): string {
  return `\0tsnet-engine-lite-${createHash('sha256').update(stateDir).digest('hex').slice(0, 32)}`;
}

/** A lock on one state directory; re-entrant within this process. */
export class StateLock {
  readonly #name: string;
  #held: Server | undefined;
  #depth = 0;

  /** `stateDir` should be the resolved path: the lock's name is derived from it. */
  constructor(stateDir: string) {
    this.#name = lockSocketName(stateDir);
  }

  /**
   * Runs `fn` holding the lock, waiting for it up to 60 s.
   * @throws EngineError when another process holds it all that time.
   */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#depth === 0) this.#held = await this.#acquire();
    this.#depth++;
    try {
      return await fn();
    } finally {
      if (--this.#depth === 0) {
        const s = this.#held;
        this.#held = undefined;
        await new Promise((r) => s?.close(r));
      }
    }
  }

  async #acquire(): Promise<Server> {
    const deadline = Date.now() + TIMEOUT_MS;
    for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
      const server = await listen(this.#name);
      if (server) return server;
      if (Date.now() > deadline) throw new EngineError(`the state lock is still held by another engine-lite command after ${TIMEOUT_MS / 1000} s`);
      await sleep(wait);
    }
  }
}
