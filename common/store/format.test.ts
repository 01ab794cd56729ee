/**
 * Store formats and migrations on the in-memory store (the same contract as LevelDB): an unmarked
 * store is format 1 and is brought to the current format; steps run in order, each with its marker
 * in one batch, so an interrupted step runs again; a newer store is refused and left untouched.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../log.js';
import { StoreTooNewError } from './errors.js';
import { CURRENT_FORMAT, MIGRATIONS, migrateStore, storeFormat, type Migration } from './format.js';
import { MemoryStore } from './memory-store.js';

function recordingLog(): { log: ReturnType<typeof createLogger>; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      done();
    },
  });
  return { log: createLogger({ level: 'info', stream }), lines };
}

describe('store format', () => {
  it('lists steps counting up by one from 2; the last is the current format', () => {
    expect(MIGRATIONS.map((m) => m.to)).toEqual(Array.from({ length: MIGRATIONS.length }, (_, i) => i + 2));
    expect(CURRENT_FORMAT).toBe(MIGRATIONS.at(-1)!.to);
  });

  it('treats an unmarked store as format 1, marks it current, keeps its records, and is a no-op the second time', async () => {
    const store = new MemoryStore();
    await store.collection('pools').put('LocalDefault/10.0.0.0/24', { Subnet: '10.0.0.0/24' });
    expect(await storeFormat(store)).toBe(1);
    const { log, lines } = recordingLog();
    expect(await migrateStore(store, { what: 'test store', log })).toEqual({ from: 1, to: CURRENT_FORMAT });
    expect(await storeFormat(store)).toBe(CURRENT_FORMAT);
    expect(await store.collection('pools').entries()).toEqual([['LocalDefault/10.0.0.0/24', { Subnet: '10.0.0.0/24' }]]);
    expect(lines.map((l) => [l.msg, l.from, l.to])).toEqual([['state migrated', 1, 2]]);
    expect(await migrateStore(store, { what: 'test store', log })).toEqual({ from: CURRENT_FORMAT, to: CURRENT_FORMAT });
    expect(lines).toHaveLength(1);
  });

  it('runs later steps in order, each atomic with its marker; an interrupted step runs again at the next open', async () => {
    const store = new MemoryStore();
    const names = store.collection<string>('names');
    await names.put('a', 'alpha');
    let crash = true;
    const steps: Migration[] = [
      ...MIGRATIONS,
      {
        to: CURRENT_FORMAT + 1,
        description: 'upper-case names',
        ops: async () => (await names.entries()).map(([k, v]) => names.putOp(k, v.toUpperCase())),
      },
      {
        to: CURRENT_FORMAT + 2,
        description: 'key names by value',
        ops: async () => {
          if (crash) throw new Error('killed mid-step');
          return (await names.entries()).flatMap(([k, v]) => [names.delOp(k), names.putOp(v, k)]);
        },
      },
    ];
    const { log } = recordingLog();
    await expect(migrateStore(store, { what: 'test store', log, migrations: steps })).rejects.toThrow('killed mid-step');
    expect(await storeFormat(store)).toBe(CURRENT_FORMAT + 1);
    expect(await names.entries()).toEqual([['a', 'ALPHA']]);
    crash = false;
    expect(await migrateStore(store, { what: 'test store', log, migrations: steps })).toEqual({ from: CURRENT_FORMAT + 1, to: CURRENT_FORMAT + 2 });
    expect(await names.entries()).toEqual([['ALPHA', 'a']]);
  });

  it('refuses a store newer than the code, naming both formats, and changes nothing', async () => {
    const store = new MemoryStore();
    await store.collection('meta').put('format', CURRENT_FORMAT + 1);
    await store.collection('pools').put('p', { x: 1 });
    const { log, lines } = recordingLog();
    const err = await migrateStore(store, { what: 'the ipam state in /s/ipam/db', log }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreTooNewError);
    expect((err as Error).message).toMatch(
      new RegExp(`^the ipam state in /s/ipam/db is format ${CURRENT_FORMAT + 1}, newer than this tsnet understands \\(format ${CURRENT_FORMAT}\\)`),
    );
    expect(await storeFormat(store)).toBe(CURRENT_FORMAT + 1);
    expect(await store.collection('pools').entries()).toEqual([['p', { x: 1 }]]);
    expect(lines).toEqual([]);
  });
});
