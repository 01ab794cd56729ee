import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { isRoot, randomName } from '../../testing/kernel/netns.js';
import { KernelError } from './errors.js';
import { start, type Child } from './exec.js';
import {
  addProcess,
  cgroupExists,
  cgroupLayout,
  createCgroup,
  deleteCgroup,
  listCgroups,
  readCgroupLimits,
  readOomKilled,
  readPids,
} from './cgroup.js';
import { usedHierarchies } from './cgroup-layout.js';

/** A `tstest-<hex>` parent for this test's groups, removed (with anything in it) when the test finishes. */
function testParent(): string {
  const parent = randomName('tstest-');
  onTestFinished(() => deleteCgroup(parent, { parent: '' }));
  return parent;
}

/**
 * Starts `sh -c script` waiting on its stdin, so it can be put into a group before it does anything;
 * `go()` lets it run. The child is killed when the test finishes.
 */
function heldChild(script: string): { child: Child; pid: number; go: () => void; stderr: () => string } {
  const child = start(['sh', '-c', `read go; ${script}`], { stdin: 'pipe', stdout: 'ignore', stderr: 'capture' });
  onTestFinished(() => void child.kill('SIGKILL'));
  if (child.pid === undefined) throw new Error('spawn failed');
  return { child, pid: child.pid, go: () => child.stdin?.end('go\n'), stderr: () => child.output() };
}

describe.skipIf(!isRoot)('cgroups', () => {
  it('detects the host layout', async () => {
    const layout = await cgroupLayout();
    expect(['v1', 'v2', 'hybrid']).toContain(layout.mode);
    expect(layout.serving.memory).toBeDefined();
    expect(layout.serving.pids).toBeDefined();
  });

  it('creates a group in every needed hierarchy with its limits, idempotently, and lists it', async () => {
    const parent = testParent();
    await createCgroup('c1', { memoryBytes: 64 << 20, cpus: 0.5, pidsMax: 50 }, { parent });
    await createCgroup('c1', { memoryBytes: 64 << 20, cpus: 0.5, pidsMax: 50 }, { parent });
    expect(await readCgroupLimits('c1', { parent })).toEqual({ memoryBytes: 64 << 20, cpus: 0.5, pidsMax: 50 });
    for (const h of usedHierarchies(await cgroupLayout())) await access(join(h.mountPoint, parent, 'c1'));
    // Raising the limit later works too (v1 needs memsw raised before memory).
    await createCgroup('c1', { memoryBytes: 128 << 20 }, { parent });
    expect(await readCgroupLimits('c1', { parent })).toEqual({ memoryBytes: 128 << 20 });
    await createCgroup('c2', {}, { parent });
    expect(await listCgroups('c', { parent })).toEqual(['c1', 'c2']);
    expect(await readOomKilled('c1', { parent })).toBe(0);
  });

  it('kills a process that exceeds the memory limit and counts the OOM kill', async () => {
    const parent = testParent();
    await createCgroup('oom', { memoryBytes: 32 << 20 }, { parent });
    // tail keeps a line without a newline in memory, and /dev/zero never sends one.
    const { child, pid, go } = heldChild('exec tail /dev/zero');
    await addProcess('oom', pid, { parent });
    expect(await readPids('oom', { parent })).toEqual([pid]);
    go();
    const { code, signal } = await child.done;
    expect({ code, signal }).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await readOomKilled('oom', { parent })).toBeGreaterThanOrEqual(1);
  });

  it('stops forks beyond the pids limit', async () => {
    const parent = testParent();
    await createCgroup('pids', { pidsMax: 4 }, { parent });
    const { child, pid, go, stderr } = heldChild('for i in 1 2 3 4 5 6 7 8; do sleep 5 & done; wait');
    await addProcess('pids', pid, { parent });
    go();
    await new Promise((r) => setTimeout(r, 300));
    expect((await readPids('pids', { parent })).length).toBeLessThanOrEqual(4);
    await deleteCgroup('pids', { parent });
    await child.done;
    expect(stderr()).toMatch(/fork/i);
  });

  it('deletes a group with running processes and subgroups; missing groups count as deleted', async () => {
    const parent = testParent();
    await createCgroup('busy', { pidsMax: 20 }, { parent });
    const { child, pid, go } = heldChild('sleep 60 & sleep 60 & wait');
    await addProcess('busy', pid, { parent });
    go();
    await new Promise((r) => setTimeout(r, 100));
    expect((await readPids('busy', { parent })).length).toBe(3);
    const layout = await cgroupLayout();
    const memDir = join(layout.serving.memory!.mountPoint, parent, 'busy');
    await createCgroup('sub', {}, { parent: `${parent}/busy` });
    await deleteCgroup('busy', { parent });
    expect((await child.done).signal).toBe('SIGKILL');
    expect(await cgroupExists('busy', { parent })).toBe(false);
    await expect(access(memDir)).rejects.toMatchObject({ code: 'ENOENT' });
    await deleteCgroup('busy', { parent });
    await expect(readPids('busy', { parent })).rejects.toBeInstanceOf(KernelError);
    await expect(addProcess('busy', process.pid, { parent })).rejects.toBeInstanceOf(KernelError);
  });
});
