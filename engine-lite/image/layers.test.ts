/**
 * @module What killed image commands leave in a real (temporary) state directory, and the sweep
 * that removes it without touching a running command's staging or the recorded layers.
 */
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { selfRef } from '../state/proc-ref.js';
import { State } from '../state/store.js';
import { addLayer, removeOrphans } from './layers.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tstest-layers-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('removeOrphans', () => {
  it('removes dead commands’ staging, unrecorded layers and dangling links; keeps live staging and stored layers', async () => {
    const state = await State.open(dir);
    const me = selfRef();
    const live = state.stagingDir('load');
    // Same pid, another start time: a process that is gone (its pid reused by this one).
    const dead = join(state.images.dir, `.load-${me.pid}-${me.start + 1}-abcdef`);
    for (const d of [live, dead]) await mkdir(join(d, 'layers', 'x'), { recursive: true });

    const kept = 'a'.repeat(64);
    const staged = join(live, 'layers', kept);
    await mkdir(join(staged, 'diff'), { recursive: true });
    await writeFile(join(staged, 'diff', 'f'), 'x');
    expect(await addLayer(state, staged, { v: 1, diffId: kept, size: 1, created: 'now' })).toBe(true);

    const unrecorded = 'b'.repeat(64);
    await mkdir(join(state.layerDir(unrecorded), 'diff'), { recursive: true });
    await symlink(join('..', 'layers', 'c'.repeat(64), 'diff'), join(dir, 'l', 'c'.repeat(16)));

    const removed = await state.lock.run(() => removeOrphans(state));
    expect(removed.sort()).toEqual([dead, state.layerDir(unrecorded), join(state.dir, 'l', 'c'.repeat(16))].sort());
    expect((await readdir(state.images.dir)).sort()).toEqual([live.slice(state.images.dir.length + 1)]);
    expect(await readdir(state.layers.dir)).toEqual([kept]);
    expect(await readdir(join(dir, 'l'))).toEqual([kept.slice(0, 16)]);
    expect(await state.lock.run(() => removeOrphans(state))).toEqual([]);
  });
});
