import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { StoreOpenError } from './errors.js';
import { start } from '../kernel/exec.js';
import { LevelStore } from './level-store.js';
import { runStoreContract } from './testing/store.contract.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'tstest-store-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

runStoreContract('level', async () => LevelStore.open(await tempDir()));

describe('LevelStore durability', () => {
  it('keeps what was written across reopen', async () => {
    const dir = await tempDir();
    const a = await LevelStore.open(dir);
    await a.collection<number>('n').put('k', 7);
    await a.close();
    const b = await LevelStore.open(dir);
    expect(await b.collection<number>('n').get('k')).toBe(7);
    await b.close();
  });

  it('names the directory when another process holds the lock', async () => {
    const dir = await tempDir();
    const a = await LevelStore.open(dir);
    try {
      const err = await LevelStore.open(dir).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreOpenError);
      // What an operator reads in the log when tsnet serve does not start: it names the directory.
      expect((err as Error).message).toContain(dir);
    } finally {
      await a.close();
    }
  });

  it('survives kill -9 right after a write resolved', async () => {
    const dir = await tempDir();
    // The child runs the built module (the vitest setup builds dist/ first): Node 20 cannot import .ts itself.
    const moduleUrl = new URL('../../dist/common/store/level-store.js', import.meta.url).href;
    // The child writes 50 keys, announces each after its promise resolved, and is killed mid-stream.
    const script = `
      const { LevelStore } = await import(${JSON.stringify(moduleUrl)});
      const s = await LevelStore.open(${JSON.stringify(dir)});
      for (let i = 0; ; i++) { await s.collection('n').put('k' + String(i).padStart(6, '0'), i); process.stdout.write(i + '\\n'); }
    `;
    const child = start([process.execPath, '--input-type=module', '-e', script], {
      stdout: 'pipe',
      stderr: 'capture',
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
    });
    const acknowledged = await new Promise<number>((resolve, reject) => {
      void child.done.then(({ code }) => reject(new Error(`writer exited early (${code}): ${child.output()}`)));
      let last = -1;
      child.stdout!.setEncoding('utf8').on('data', (d: string) => {
        for (const line of d.split('\n')) if (line !== '') last = Number(line);
        if (last >= 50) {
          child.kill('SIGKILL');
          resolve(last);
        }
      });
    });
    await child.done;
    const s = await LevelStore.open(dir);
    const entries = await s.collection<number>('n').entries();
    await s.close();
    expect(entries.length).toBeGreaterThanOrEqual(acknowledged + 1);
    entries.forEach(([, v], i) => expect(v).toBe(i));
  });
});
