import { describe, expect, it } from 'vitest';
import { UsageMeter } from './usage-meter.js';

/** A measure function whose walks finish only when the test says so. */
function controlled() {
  const pending: Array<{ path: string; finish: (bytes: number) => void; fail: () => void }> = [];
  const measure = (path: string) =>
    new Promise<number>((resolve, reject) => pending.push({ path, finish: resolve, fail: () => reject(new Error('du failed')) }));
  return { pending, measure };
}

describe('UsageMeter', () => {
  it('serves a recent figure without measuring again', async () => {
    let walks = 0;
    const meter = new UsageMeter(async () => ++walks * 100, { waitMs: 1000 });
    expect((await meter.read('v', '/p'))?.bytes).toBe(100);
    expect((await meter.read('v', '/p'))?.bytes).toBe(100);
    expect(walks).toBe(1);
    expect((await meter.read('v', '/p', { fresh: true }))?.bytes).toBe(200);
  });

  it('answers a slow walk with the last figure, then serves the new one', async () => {
    const { pending, measure } = controlled();
    const meter = new UsageMeter(measure, { maxAgeMs: 0, waitMs: 20 });
    meter.set('v', 5);
    expect((await meter.read('v', '/p'))?.bytes).toBe(5);
    pending[0]!.finish(7);
    await new Promise((r) => setTimeout(r, 0));
    expect((await meter.read('v', '/p'))?.bytes).toBe(7); // a new walk starts, and 7 is served meanwhile
  });

  it('by default never waits: serves the last figure (or none) at once and measures meanwhile', async () => {
    const { pending, measure } = controlled();
    const meter = new UsageMeter(measure, { maxAgeMs: 0 });
    expect(await meter.read('v', '/p')).toBeUndefined();
    expect(pending.map((p) => p.path)).toEqual(['/p']);
    pending[0]!.finish(11);
    await new Promise((r) => setTimeout(r, 0));
    expect((await meter.read('v', '/p'))?.bytes).toBe(11);
  });

  it('keeps the last figure when a walk fails, and forgets a removed volume', async () => {
    const { pending, measure } = controlled();
    const meter = new UsageMeter(measure, { maxAgeMs: 0, waitMs: 1000 });
    meter.set('v', 9);
    const read = meter.read('v', '/p');
    pending[0]!.fail();
    expect((await read)?.bytes).toBe(9);
    meter.forget('v');
    const again = meter.read('v', '/p', { fresh: true });
    pending[1]!.fail();
    expect(await again).toBeUndefined();
  });

  it('runs at most `concurrency` walks at once', async () => {
    const { pending, measure } = controlled();
    const meter = new UsageMeter(measure, { concurrency: 2 });
    const reads = ['a', 'b', 'c'].map((k) => meter.read(k, `/${k}`, { fresh: true }));
    await new Promise((r) => setTimeout(r, 0));
    expect(pending.map((p) => p.path)).toEqual(['/a', '/b']);
    pending[0]!.finish(1);
    await new Promise((r) => setTimeout(r, 0));
    expect(pending.map((p) => p.path)).toEqual(['/a', '/b', '/c']);
    pending[1]!.finish(2);
    pending[2]!.finish(3);
    expect((await Promise.all(reads)).map((m) => m?.bytes)).toEqual([1, 2, 3]);
  });
});
