/**
 * @module A one-line progress bar for long copies, drawn on a terminal only (a pipe or file gets
 * nothing, as with docker's progress output).
 */
import type { WriteStream } from 'node:tty';

const WIDTH = 30;
const UNITS = ['B', 'kB', 'MB', 'GB', 'TB'];

/** `1234567` → `1.23MB` (decimal units, as docker prints sizes). */
export function formatBytes(n: number): string {
  let v = n;
  let u = 0;
  while (v >= 1000 && u < UNITS.length - 1) {
    v /= 1000;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)}${UNITS[u]}`;
}

/** The bar for `done` of `total` bytes, e.g. `label [=====>      ] 1.2MB/4.5MB`. Pure. */
export function renderBar(label: string, done: number, total: number): string {
  const frac = total > 0 ? Math.min(1, done / total) : 0;
  const filled = Math.floor(frac * WIDTH);
  const bar = filled >= WIDTH ? '='.repeat(WIDTH) : `${'='.repeat(filled)}>${' '.repeat(WIDTH - filled - 1)}`;
  return `${label} [${bar}] ${formatBytes(done)}/${formatBytes(total)}`;
}

/** A progress bar on `out` when it is a TTY; a no-op otherwise. Redraws at most every 100 ms. */
export class ProgressBar {
  readonly #out: WriteStream | undefined;
  readonly #label: string;
  readonly #total: number;
  #done = 0;
  #drawnAt = 0;

  constructor(out: NodeJS.WriteStream, label: string, total: number) {
    this.#out = out.isTTY ? (out as WriteStream) : undefined;
    this.#label = label;
    this.#total = total;
  }

  /** Adds `bytes` to the count and redraws if due. */
  advance(bytes: number): void {
    this.#done += bytes;
    const now = Date.now();
    if (this.#out && now - this.#drawnAt >= 100) {
      this.#drawnAt = now;
      this.#draw();
    }
  }

  /** Draws the final state and ends the line. */
  finish(): void {
    if (!this.#out) return;
    this.#draw();
    this.#out.write('\n');
  }

  #draw(): void {
    this.#out?.write(`\r${renderBar(this.#label, this.#done, this.#total)}`);
  }
}
