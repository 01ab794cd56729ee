import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { start } from '../../common/kernel/exec.js';
import { isAlive, procRef, selfRef } from './proc-ref.js';
import { lockSocketName, StateLock } from './lock.js';
import { resolveRef, State } from './store.js';
import { refusal } from '../../testing/refusal.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tstest-state-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('State', () => {
  it('keeps one JSON file per record, written atomically', async () => {
    const state = await State.open(dir);
    await state.volumes.put('v1', { v: 1, name: 'v1', driver: 'd', created: 'now', options: {}, labels: {}, anonymous: false });
    expect(await state.volumes.get('v1')).toMatchObject({ name: 'v1' });
    expect(await readdir(state.volumes.dir)).toEqual(['v1.json']);
    await state.update(state.volumes, 'v1', (v) => (v.driver = 'e'));
    expect((await state.volumes.list()).map((v) => v.driver)).toEqual(['e']);
    await state.volumes.remove('v1');
    await expect(state.update(state.volumes, 'v1', () => undefined)).rejects.toThrow(refusal('ERR_ENGINE_NOT_FOUND', 'No such volume: v1'));
    expect(await state.containers.list()).toEqual([]);
  });

  it('keeps any key in one file of its folder, %-escaped', async () => {
    const state = await State.open(dir);
    for (const name of ['../up', 'a/b']) await state.volumes.put(name, { v: 1, name, driver: 'd', created: 'now', options: {}, labels: {}, anonymous: false });
    expect((await readdir(state.volumes.dir)).sort()).toEqual(['..%2Fup.json', 'a%2Fb.json']);
    expect((await state.volumes.list()).map((v) => v.name).sort()).toEqual(['../up', 'a/b']);
    expect(await state.volumes.get('a/b')).toMatchObject({ name: 'a/b' });
  });

  it('resolves references like docker: ID, name, then a unique prefix', () => {
    const items = [
      { id: 'abc123', name: 'web' },
      { id: 'abd456', name: 'db' },
    ];
    expect(resolveRef(items, 'web', 'container').id).toBe('abc123');
    expect(resolveRef(items, 'abd', 'container').name).toBe('db');
    expect(() => resolveRef(items, 'ab', 'container')).toThrow(refusal('ERR_ENGINE_NOT_FOUND', 'multiple containers found with provided prefix: ab'));
    expect(() => resolveRef(items, 'zz', 'container')).toThrow(refusal('ERR_ENGINE_NOT_FOUND', 'No such container: zz'));
  });
});

describe('StateLock', () => {
  it('lets one holder in at a time', async () => {
    const a = new StateLock(dir);
    const b = new StateLock(dir);
    const order: string[] = [];
    let release!: () => void;
    const first = a.run(async () => {
      order.push('a in');
      await new Promise<void>((r) => (release = r));
      order.push('a out');
    });
    await new Promise((r) => setTimeout(r, 20));
    const second = b.run(async () => {
      order.push('b in');
    });
    await new Promise((r) => setTimeout(r, 30));
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(['a in', 'a out', 'b in']);
  });

  it('is freed when its holder is killed', async () => {
    // A child process takes the lock and is killed with SIGKILL while holding it.
    const child = start([
      process.execPath,
      '-e',
      `require('node:net').createServer().listen({ path: Buffer.from(process.argv[1], 'hex').toString(), exclusive: true }, () => process.stdout.write('held'))`,
      Buffer.from(lockSocketName(dir)).toString('hex'),
    ], { stdout: 'pipe' });
    await new Promise((r) => child.stdout!.once('data', r));
    child.kill('SIGKILL');
    await child.done;
    await expect(new StateLock(dir).run(async () => 'got it')).resolves.toBe('got it');
  });
});

describe('ProcRef', () => {
  it('tells a live process from a gone one', () => {
    expect(isAlive(selfRef())).toBe(true);
    expect(isAlive({ ...selfRef(), start: selfRef().start + 1 })).toBe(false);
    expect(procRef(2 ** 22 + 1)).toBeUndefined();
  });
});

