import { describe, expect, it } from 'vitest';
import { Coalesced } from './coalesce.js';

/** A job whose runs end when the test says so; records how many started. */
function gatedJob() {
  const gates: Array<() => void> = [];
  let started = 0;
  const job = () => {
    started++;
    return new Promise<void>((resolve) => gates.push(resolve));
  };
  return { job, started: () => started, finish: () => gates.shift()?.() };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('Coalesced', () => {
  it('runs a burst of requests as the run in flight plus one more', async () => {
    const g = gatedJob();
    const c = new Coalesced(g.job, () => undefined);
    for (let i = 0; i < 10; i++) c.request();
    expect(g.started()).toBe(1);
    g.finish();
    await tick();
    expect(g.started()).toBe(2);
    g.finish();
    await c.idle();
    expect(g.started()).toBe(2);
    c.request();
    expect(g.started()).toBe(3);
    g.finish();
    await c.idle();
  });

  it('hands a failed run to onError and still runs the queued one', async () => {
    const errors: unknown[] = [];
    let runs = 0;
    const c = new Coalesced(async () => {
      if (++runs === 1) throw new Error('first run fails');
    }, (err) => errors.push(err));
    c.request();
    c.request();
    await c.idle();
    expect(runs).toBe(2);
    expect(errors).toHaveLength(1);
  });
});
