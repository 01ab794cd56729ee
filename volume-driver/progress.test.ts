import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { progressLine, transferProgress } from './progress.js';

describe('progress', () => {
  it('draws a bar and a percentage when the total is known, and only counts otherwise', () => {
    expect(progressLine('export v', 512 * 1024, 2 ** 20, 1000)).toBe('export v [########........]  50% 512 KiB / 1 MiB 512 KiB/s');
    expect(progressLine('import v', 3 * 2 ** 20, undefined, 2000)).toBe('import v  3 MiB  1.5 MiB/s');
    expect(progressLine('export v', 5 * 2 ** 20, 2 ** 20, 1000)).toMatch(/ 99% /);
  });

  it('passes bytes through unchanged, drawing only on a terminal', async () => {
    const drawn: string[] = [];
    for (const isTTY of [false, true]) {
      const progress = transferProgress('export v', 6, { isTTY, columns: 60, write: (t: string) => drawn.push(t) });
      const got: Buffer[] = [];
      const sink = new Writable({ write: (c: Buffer, _e, cb) => (got.push(c), cb()) });
      await pipeline(Readable.from([Buffer.from('abc'), Buffer.from('def')]), progress, sink);
      expect(Buffer.concat(got).toString()).toBe('abcdef');
      expect(progress.bytes).toBe(6);
    }
    expect(drawn.at(-1)).toMatch(/^\rexport v \[#{16}\] 100% 6 B \/ 6 B .*\n$/);
    expect(drawn.every((l) => l.length === 60 || l.length === 61)).toBe(true);
  });
});
