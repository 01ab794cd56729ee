import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../common/log.js';
import { BackgroundWork } from './background.js';

describe('BackgroundWork', () => {
  it('lets a key be settled only once its work is done, and logs failures instead of throwing', async () => {
    const out = new PassThrough();
    let logged = '';
    out.on('data', (d: Buffer) => (logged += d.toString()));
    const bg = new BackgroundWork(createLogger({ stream: out }));
    let finish!: () => void;
    const done: string[] = [];
    bg.start('net1', 'slow', () => new Promise<void>((res) => (finish = res)).then(() => void done.push('slow')));
    bg.start('net1', 'broken', async () => {
      throw new Error('no such device');
    });
    bg.start('net2', 'other', async () => void done.push('other'));
    const settled = bg.settle('net1').then(() => done.push('settled'));
    await new Promise((r) => setTimeout(r, 10));
    expect(done).toEqual(['other']);
    finish();
    await settled;
    expect(done).toEqual(['other', 'slow', 'settled']);
    expect(logged).toContain('"what":"broken"');
    await bg.settle('never-used');
  });
});
