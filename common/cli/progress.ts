/**
 * @module The progress bar every CLI draws for long copies (`tsnet volume export|import`, engine-lite
 * `import` and `load`): one line on a terminal, redrawn at most every 100 ms, cut to the terminal's
 * width and padded so a shorter line leaves nothing behind, ended by a newline when done. A pipe or a
 * file gets nothing, as with docker's progress output. What the line says is the caller's
 * {@link ProgressText}; this module only counts, times and draws.
 */
import { Transform, type TransformCallback } from 'node:stream';

/** What a progress line is drawn on: a terminal-like stream (`process.stderr`). */
export interface ProgressOutput {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

/** The line for `done` bytes after `elapsedMs`; `final` once everything went through. */
export type ProgressText = (done: number, elapsedMs: number, final: boolean) => string;

const REDRAW_MS = 100;

/** Counts bytes and draws the caller's line on `out` when it is a TTY; counts only otherwise. */
export class ProgressBar {
  readonly #out: ProgressOutput;
  readonly #text: ProgressText;
  readonly #start = Date.now();
  #done = 0;
  #drawnAt = 0;

  constructor(out: ProgressOutput, text: ProgressText) {
    this.#out = out;
    this.#text = text;
  }

  /** Bytes counted so far. */
  get done(): number {
    return this.#done;
  }

  /** Adds `bytes` to the count and redraws if the last drawing is 100 ms old. */
  advance(bytes: number): void {
    this.#done += bytes;
    if (Date.now() - this.#drawnAt >= REDRAW_MS) this.#draw(false);
  }

  /** Draws the final line and ends it. */
  finish(): void {
    this.#draw(true);
  }

  #draw(final: boolean): void {
    if (!this.#out.isTTY) return;
    this.#drawnAt = Date.now();
    const line = this.#text(this.#done, this.#drawnAt - this.#start, final);
    const width = this.#out.columns || 80; // 0 on a pseudo-terminal with no size set
    this.#out.write(`\r${line.slice(0, width - 1).padEnd(width - 1)}${final ? '\n' : ''}`);
  }
}

/** A pass-through for byte streams that counts what flows through on a {@link ProgressBar}. */
export class ProgressStream extends Transform {
  readonly #bar: ProgressBar;

  constructor(out: ProgressOutput, text: ProgressText) {
    super();
    this.#bar = new ProgressBar(out, text);
  }

  /** Bytes that went through so far. */
  get bytes(): number {
    return this.#bar.done;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.#bar.advance(chunk.length);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    this.#bar.finish();
    done();
  }
}
