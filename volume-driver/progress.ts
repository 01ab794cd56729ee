/**
 * @module A progress bar for byte streams (`tsnet volume export|import`): a pass-through that counts
 * bytes and, when its output is a terminal, redraws one line at most every 100 ms. Anywhere else it
 * only counts.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { formatSize } from './size.js';

/** What a progress line is drawn on: a terminal-like stream. */
export interface ProgressOutput {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

const BAR = 16;
const REDRAW_MS = 100;

/** One progress line: label, bar and percentage when `total` is known, bytes and rate. */
export function progressLine(label: string, done: number, total: number | undefined, elapsedMs: number): string {
  const rate = elapsedMs > 0 ? `${formatSize(Math.round((done * 1000) / elapsedMs))}/s` : '';
  if (!total) return `${label}  ${formatSize(done)}  ${rate}`;
  // The archive is a little bigger or smaller than the files it holds: stay below 100 % until done.
  const ratio = Math.min(done / total, 0.99);
  const filled = Math.round(ratio * BAR);
  const pct = `${Math.floor(ratio * 100)}%`.padStart(4);
  return `${label} [${'#'.repeat(filled)}${'.'.repeat(BAR - filled)}] ${pct} ${formatSize(done)} / ${formatSize(total)} ${rate}`;
}

/** A byte-counting pass-through that draws {@link progressLine} on a terminal. */
export class Progress extends Transform {
  /** Bytes that went through so far. */
  bytes = 0;
  readonly #label: string;
  readonly #total: number | undefined;
  readonly #out: ProgressOutput;
  readonly #start = Date.now();
  #drawn = 0;

  /** Counts what flows through; draws on `out` only if it is a TTY. `total` (bytes) may be unknown. */
  constructor(label: string, total: number | undefined, out: ProgressOutput = process.stderr) {
    super();
    this.#label = label;
    this.#total = total;
    this.#out = out;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (Date.now() - this.#drawn >= REDRAW_MS) this.#draw(false);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    this.#draw(true);
    done();
  }

  #draw(final: boolean): void {
    if (!this.#out.isTTY) return;
    this.#drawn = Date.now();
    let line = progressLine(this.#label, this.bytes, this.#total, this.#drawn - this.#start);
    if (final) line = line.replace(/\[#*\.*\]\s+\d+%/, `[${'#'.repeat(BAR)}] 100%`);
    const width = this.#out.columns || 80; // 0 on a pseudo-terminal with no size set
    this.#out.write(`\r${line.slice(0, width - 1).padEnd(width - 1)}${final ? '\n' : ''}`);
  }
}
