import { describe, expect, it } from 'vitest';
import { KeyedMutex } from './keyed-mutex.js';

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('KeyedMutex', () => {
  it('runs work for one key strictly in order, even when some fails', async () => {
    const m = new KeyedMutex();
    const log: string[] = [];
    const job = (name: string, fail = false) => async () => {
      log.push(`${name}:start`);
      await tick();
      log.push(`${name}:end`);
      if (fail) throw new Error(name);
      return name;
    };
    const results = await Promise.allSettled([m.run('k', job('a')), m.run('k', job('b', true)), m.run('k', job('c'))]);
    expect(log).toEqual(['a:start', 'a:end', 'b:start', 'b:end', 'c:start', 'c:end']);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });

  it('runs different keys in parallel', async () => {
    const m = new KeyedMutex();
    const log: string[] = [];
    const job = (name: string) => async () => {
      log.push(`${name}:start`);
      await tick();
      log.push(`${name}:end`);
    };
    await Promise.all([m.run('x', job('x')), m.run('y', job('y'))]);
    expect(log.slice(0, 2).sort()).toEqual(['x:start', 'y:start']);
  });
});
