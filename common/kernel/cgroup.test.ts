import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCgroup, listCgroups, readCgroupLimits, type CgroupLayout } from './cgroup.js';

// A pure-v2 host cannot be had on the development VM (its controllers are bound to v1), so the v2
// file writes are checked against a fake cgroupfs: plain files in a temp dir.
describe('createCgroup on a (fake) cgroup v2 tree', () => {
  let root: string;
  let layout: CgroupLayout;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'tstest-cgv2-'));
    await writeFile(join(root, 'cgroup.subtree_control'), 'cpu\n');
    await mkdir(join(root, 'tsnet'));
    await writeFile(join(root, 'tsnet', 'cgroup.subtree_control'), '');
    await mkdir(join(root, 'tsnet', 'c1'));
    await writeFile(join(root, 'tsnet', 'c1', 'memory.swap.max'), 'max');
    const v2 = { version: 2 as const, mountPoint: root, controllers: ['cpu', 'memory', 'pids'] };
    layout = { mode: 'v2', hierarchies: [v2], serving: { memory: v2, cpu: v2, pids: v2 } };
  });

  afterEach(() => rm(root, { recursive: true, force: true }));

  const read = (...p: string[]) => readFile(join(root, ...p), 'utf8');

  it('enables the controllers down the tree and writes the v2 limit files', async () => {
    await createCgroup('c1', { memoryBytes: 64 << 20, cpus: 0.25, pidsMax: 20 }, { layout });
    expect(await read('cgroup.subtree_control')).toBe('+memory +pids');
    expect(await read('tsnet', 'cgroup.subtree_control')).toBe('+memory +cpu +pids');
    expect(await read('tsnet', 'c1', 'memory.max')).toBe(String(64 << 20));
    expect(await read('tsnet', 'c1', 'memory.swap.max')).toBe('0');
    expect(await read('tsnet', 'c1', 'cpu.max')).toBe('25000 100000');
    expect(await read('tsnet', 'c1', 'pids.max')).toBe('20');
    expect(await readCgroupLimits('c1', { layout })).toEqual({ memoryBytes: 64 << 20, cpus: 0.25, pidsMax: 20 });
    expect(await listCgroups('c', { layout })).toEqual(['c1']);
  });

  it('resets omitted limits to unlimited when applied again', async () => {
    await createCgroup('c1', { memoryBytes: 64 << 20 }, { layout });
    await createCgroup('c1', {}, { layout });
    expect(await readCgroupLimits('c1', { layout })).toEqual({});
    expect(await read('tsnet', 'c1', 'memory.swap.max')).toBe('max');
  });
});
