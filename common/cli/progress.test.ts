import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ProgressBar, ProgressStream } from './progress.js';

/** A terminal-like output that records what is written. */
const terminal = (isTTY: boolean, columns = 20) => {
  const written: string[] = [];
  return { written, out: { isTTY, columns, write: (t: string) => written.push(t) } };
};

describe('ProgressBar', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(1_000_000);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('draws at most every 100 ms, padded to the width, and ends the line when finished', () => {
    const t = terminal(true);
    const bar = new ProgressBar(t.out, (done, elapsedMs, final) => `${done} in ${elapsedMs}${final ? ' done' : ''}`);
    bar.advance(1);
    bar.advance(2);
    vi.setSystemTime(1_000_099);
    bar.advance(3);
    vi.setSystemTime(1_000_100);
    bar.advance(4);
    bar.finish();
    expect(t.written).toEqual([`\r${'1 in 0'.padEnd(19)}`, `\r${'10 in 100'.padEnd(19)}`, `\r${'10 in 100 done'.padEnd(19)}\n`]);
    expect(bar.done).toBe(10);
  });

  it('cuts a line longer than the terminal, and takes 80 columns when the terminal has no size', () => {
    const narrow = terminal(true, 10);
    new ProgressBar(narrow.out, () => 'x'.repeat(30)).finish();
    expect(narrow.written).toEqual([`\r${'x'.repeat(9)}\n`]);
    const unsized = terminal(true, 0);
    new ProgressBar(unsized.out, () => 'y').finish();
    expect(unsized.written).toEqual([`\r${'y'.padEnd(79)}\n`]);
  });

  it('counts but draws nothing when the output is not a terminal', () => {
    const t = terminal(false);
    const bar = new ProgressBar(t.out, () => 'never');
    bar.advance(5);
    bar.finish();
    expect(t.written).toEqual([]);
    expect(bar.done).toBe(5);
  });
});

describe('ProgressStream', () => {
  it('passes bytes through unchanged, counting them, and draws the final line when the stream ends', async () => {
    const t = terminal(true);
    const finals: boolean[] = [];
    const progress = new ProgressStream(t.out, (done, _ms, final) => (finals.push(final), `${done}B`));
    const got: Buffer[] = [];
    const sink = new Writable({ write: (c: Buffer, _e, cb) => (got.push(c), cb()) });
    await pipeline(Readable.from([Buffer.from('abc'), Buffer.from('defg')]), progress, sink);
    expect(Buffer.concat(got).toString()).toBe('abcdefg');
    expect(progress.bytes).toBe(7);
    expect(finals.at(-1)).toBe(true);
    expect(t.written.at(-1)).toBe(`\r${'7B'.padEnd(19)}\n`);
  });
});
