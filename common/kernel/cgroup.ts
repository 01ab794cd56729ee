/**
 * @module Control groups for engine-lite's containers: memory, CPU and process-count limits, OOM
 * counts and teardown. Works on cgroup v1, v2 and hybrid hosts: the layout is detected once and
 * each controller is used from the hierarchy that has it. Groups live under one parent, `tsnet`
 * by default (`/sys/fs/cgroup/memory/tsnet/NAME` on v1, `/sys/fs/cgroup/tsnet/NAME` on v2).
 */
import { access, mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KernelArgumentError, KernelError, KernelFeatureMissingError } from './errors.js';
import {
  LIMIT_FILES,
  limitWrites,
  MANAGED_CONTROLLERS,
  parseLimits,
  readCgroupLayout,
  usedHierarchies,
  validateLimits,
  type CgroupHierarchy,
  type CgroupLayout,
  type CgroupLimits,
} from './cgroup-layout.js';

export type { CgroupController, CgroupHierarchy, CgroupLayout, CgroupLimits } from './cgroup-layout.js';

/** Parent of every group the suite makes, below each hierarchy's root. */
export const CGROUP_PARENT = 'tsnet';

/** Where a cgroup call acts. */
export interface CgroupOptions {
  /** Parent path below each hierarchy root (default {@link CGROUP_PARENT}; `''` for the root itself). */
  parent?: string;
  /** A layout to use instead of this host's (tests use a fake tree). */
  layout?: CgroupLayout;
}

let hostLayout: Promise<CgroupLayout> | undefined;

/** This host's cgroup layout, detected on first use and then cached. */
export function cgroupLayout(): Promise<CgroupLayout> {
  hostLayout ??= readCgroupLayout();
  return hostLayout;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

function checkName(option: string, name: string): void {
  if (!NAME_RE.test(name)) throw new KernelArgumentError(option, `"${name}" must be letters, digits, "_", "." and "-", not starting with "." or "-"`);
}

interface Resolved {
  layout: CgroupLayout;
  /** One directory per used hierarchy, and the parent directory it lives in. */
  dirs: { hierarchy: CgroupHierarchy; dir: string; parentDir: string }[];
  object: string;
}

/** The group's directories; without a name (for listing) `dir` is the parent directory. */
async function resolve(name: string | undefined, opts: CgroupOptions): Promise<Resolved> {
  if (name !== undefined) checkName('name', name);
  const parent = opts.parent ?? CGROUP_PARENT;
  if (parent !== '') parent.split('/').forEach((p) => checkName('parent', p));
  const layout = opts.layout ?? (await cgroupLayout());
  const hierarchies = usedHierarchies(layout);
  if (hierarchies.length === 0) {
    throw new KernelFeatureMissingError('cgroups', `no hierarchy with ${MANAGED_CONTROLLERS.join(', ')} is mounted (layout: ${layout.mode})`);
  }
  return {
    layout,
    dirs: hierarchies.map((hierarchy) => {
      const parentDir = join(hierarchy.mountPoint, parent);
      return { hierarchy, parentDir, dir: join(parentDir, name ?? '') };
    }),
    object: `cgroup "${join(parent, name ?? '')}"`,
  };
}

function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

async function readControl(r: Resolved, dir: string, file: string): Promise<string> {
  try {
    return await readFile(join(dir, file), 'utf8');
  } catch (err) {
    const detail = errnoOf(err) === 'ENOENT' && !(await exists(dir)) ? 'the group does not exist' : `cannot read ${file}: ${String(err)}`;
    throw new KernelError(r.object, 'read', detail, { cause: err });
  }
}

async function writeControl(r: Resolved, dir: string, file: string, value: string, step: string): Promise<void> {
  try {
    await writeFile(join(dir, file), value);
  } catch (err) {
    throw new KernelError(r.object, step, `writing "${value}" to ${file}: ${String(err)}`, { cause: err });
  }
}

/** v2 only lets a group use a controller its parent lists in `cgroup.subtree_control`, all the way down. */
async function enableV2Controllers(r: Resolved, hierarchy: CgroupHierarchy, groupDir: string): Promise<void> {
  const wanted = MANAGED_CONTROLLERS.filter((c) => r.layout.serving[c] === hierarchy);
  const levels: string[] = [];
  for (let d = join(groupDir, '..'); d.startsWith(hierarchy.mountPoint); d = join(d, '..')) {
    levels.unshift(d);
    if (d === hierarchy.mountPoint) break;
  }
  for (const level of levels) {
    const enabled = (await readControl(r, level, 'cgroup.subtree_control')).trim().split(/\s+/);
    const missing = wanted.filter((c) => !enabled.includes(c));
    if (missing.length > 0) await writeControl(r, level, 'cgroup.subtree_control', missing.map((c) => `+${c}`).join(' '), 'enable controllers for');
  }
}

/**
 * Creates the group in every hierarchy that serves memory, cpu or pids (on v2 enabling those
 * controllers down from the root), and sets its limits; an omitted limit is set to unlimited.
 * Idempotent: on an existing group it only rewrites the limits. On v1, swap is capped with
 * `memory.memsw` where the kernel accounts it; on v2 `memory.swap.max` is 0 under a memory limit.
 * @throws KernelArgumentError for a bad name or limit; KernelFeatureMissingError when no hierarchy has
 * the controllers a limit needs; KernelError when the kernel refuses a write.
 */
export async function createCgroup(name: string, limits: CgroupLimits = {}, opts: CgroupOptions = {}): Promise<void> {
  validateLimits(limits);
  const r = await resolve(name, opts);
  const needs = { memory: limits.memoryBytes, cpu: limits.cpus, pids: limits.pidsMax, devices: limits.devices } as const;
  for (const c of MANAGED_CONTROLLERS) {
    if (needs[c] !== undefined && !r.layout.serving[c]) throw new KernelFeatureMissingError(`cgroup ${c}`, `no mounted hierarchy offers the ${c} controller`);
  }
  // Hierarchies are independent (v1 has one per controller): set them up side by side.
  await Promise.all(
    r.dirs.map(async ({ hierarchy, dir }) => {
      try {
        await mkdir(dir, { recursive: true });
      } catch (err) {
        throw new KernelError(r.object, 'create', `mkdir ${dir}: ${String(err)}`, { cause: err });
      }
      // The limit files of a v2 group appear once its parents enable the controllers.
      if (hierarchy.version === 2) await enableV2Controllers(r, hierarchy, dir);
      for (const c of MANAGED_CONTROLLERS) {
        if (r.layout.serving[c] !== hierarchy) continue;
        for (const w of limitWrites(hierarchy.version, c, limits)) {
          if (w.optional && !(await exists(join(dir, w.file)))) continue;
          await writeControl(r, dir, w.file, w.value, 'set limits of');
        }
      }
    }),
  );
}

/** Whether this host restricts a group's devices ({@link CgroupLimits.devices}): a v1 `devices` hierarchy is mounted. */
export async function deviceRulesSupported(opts: CgroupOptions = {}): Promise<boolean> {
  return (opts.layout ?? (await cgroupLayout())).serving.devices !== undefined;
}

/**
 * Reads the group's limits back (undefined = unlimited). Read-only.
 * @throws KernelError when the group does not exist.
 */
export async function readCgroupLimits(name: string, opts: CgroupOptions = {}): Promise<CgroupLimits> {
  const r = await resolve(name, opts);
  const out: CgroupLimits = {};
  for (const c of MANAGED_CONTROLLERS) {
    const h = r.layout.serving[c];
    const dir = r.dirs.find((d) => d.hierarchy === h)?.dir;
    if (!h || !dir) continue;
    const contents = await Promise.all(LIMIT_FILES[h.version][c].map((f) => readControl(r, dir, f)));
    Object.assign(out, parseLimits(h.version, c, contents));
  }
  return out;
}

/** Whether the group exists (in the first hierarchy it would be created in). */
export async function cgroupExists(name: string, opts: CgroupOptions = {}): Promise<boolean> {
  const first = (await resolve(name, opts)).dirs[0];
  return first !== undefined && exists(first.dir);
}

/**
 * Moves process `pid` (with its threads) into the group in every hierarchy; its future children
 * start there. Idempotent.
 * @throws KernelError when the group or the process does not exist.
 */
export async function addProcess(name: string, pid: number, opts: CgroupOptions = {}): Promise<void> {
  if (!Number.isSafeInteger(pid) || pid <= 0) throw new KernelArgumentError('pid', `must be a positive whole number; got ${pid}`);
  const r = await resolve(name, opts);
  for (const { dir } of r.dirs) {
    if (!(await exists(dir))) throw new KernelError(r.object, 'add process to', 'the group does not exist');
    await writeControl(r, dir, 'cgroup.procs', String(pid), `add process ${pid} to`);
  }
}

/**
 * The `cgroup.procs` file of the group in every hierarchy: a process that writes its own pid to
 * each is in the group, and so are the children it forks afterwards (no later migration).
 */
export async function cgroupProcsFiles(name: string, opts: CgroupOptions = {}): Promise<string[]> {
  return (await resolve(name, opts)).dirs.map(({ dir }) => join(dir, 'cgroup.procs'));
}

async function procsIn(r: Resolved, dir: string): Promise<number[]> {
  return (await readControl(r, dir, 'cgroup.procs')).split('\n').filter(Boolean).map(Number);
}

/**
 * The processes in the group (union over hierarchies, sorted). Read-only.
 * @throws KernelError when the group does not exist.
 */
export async function readPids(name: string, opts: CgroupOptions = {}): Promise<number[]> {
  const r = await resolve(name, opts);
  const all = new Set<number>();
  for (const { dir } of r.dirs) for (const pid of await procsIn(r, dir)) all.add(pid);
  return [...all].sort((a, b) => a - b);
}

/**
 * How many processes the kernel's OOM killer has killed in the group (v1 `memory.oom_control`,
 * v2 `memory.events`, field `oom_kill`). Read-only.
 * @throws KernelFeatureMissingError without a memory controller or without the counter (kernels
 * before 4.13); KernelError when the group does not exist.
 */
export async function readOomKilled(name: string, opts: CgroupOptions = {}): Promise<number> {
  const r = await resolve(name, opts);
  const h = r.layout.serving.memory;
  const dir = r.dirs.find((d) => d.hierarchy === h)?.dir;
  if (!h || !dir) throw new KernelFeatureMissingError('cgroup memory', 'no mounted hierarchy offers the memory controller');
  const text = await readControl(r, dir, h.version === 1 ? 'memory.oom_control' : 'memory.events');
  const m = /^oom_kill (\d+)$/m.exec(text);
  if (!m) throw new KernelFeatureMissingError('cgroup oom_kill counter', `${r.object} has no oom_kill field (kernel older than 4.13)`);
  return Number(m[1]);
}

const KILL_TIMEOUT_MS = 10_000;

/** Kills every process in `dir` and its subgroups, and waits until none is left. */
async function killAll(r: Resolved, hierarchy: CgroupHierarchy, dir: string): Promise<void> {
  // v2 (5.14+) kills the whole subtree at once and cannot race with forks.
  if (hierarchy.version === 2 && (await exists(join(dir, 'cgroup.kill')))) await writeControl(r, dir, 'cgroup.kill', '1', 'kill processes of');
  const deadline = Date.now() + KILL_TIMEOUT_MS;
  for (;;) {
    const pids: number[] = [];
    for (const d of await subtree(dir)) pids.push(...(await procsIn(r, d)));
    if (pids.length === 0) return;
    if (Date.now() > deadline) throw new KernelError(r.object, 'delete', `processes ${pids.join(', ')} still running after SIGKILL`);
    if (pids.includes(process.pid)) throw new KernelError(r.object, 'delete', `it holds this process (${process.pid}); refusing to kill it`);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch (err) {
        if (errnoOf(err) !== 'ESRCH') throw new KernelError(r.object, 'delete', `kill ${pid}: ${String(err)}`, { cause: err });
      }
    }
    await sleep(20);
  }
}

/** `dir` and all its subgroup directories, deepest first. */
async function subtree(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return [];
    throw err;
  }
  const out: string[] = [];
  for (const e of entries) if (e.isDirectory()) out.push(...(await subtree(join(dir, e.name))));
  out.push(dir);
  return out;
}

async function removeDir(r: Resolved, dir: string): Promise<void> {
  const deadline = Date.now() + KILL_TIMEOUT_MS;
  for (;;) {
    try {
      await rmdir(dir);
      return;
    } catch (err) {
      const code = errnoOf(err);
      if (code === 'ENOENT') return;
      // A killed task can linger briefly as the kernel tears it down; the group is busy until then.
      if (code !== 'EBUSY' || Date.now() > deadline) throw new KernelError(r.object, 'delete', `rmdir ${dir}: ${String(err)}`, { cause: err });
      await sleep(20);
    }
  }
}

/**
 * Kills every process left in the group (and its subgroups) with SIGKILL, waits for them to go,
 * and removes the group from every hierarchy. Idempotent: a missing group counts as deleted.
 * @throws KernelError when processes survive 10 s or a directory cannot be removed.
 */
export async function deleteCgroup(name: string, opts: CgroupOptions = {}): Promise<void> {
  const r = await resolve(name, opts);
  await Promise.all(r.dirs.map(({ hierarchy, dir }) => killAll(r, hierarchy, dir)));
  await Promise.all(
    r.dirs.map(async ({ dir }) => {
      for (const d of await subtree(dir)) await removeDir(r, d);
    }),
  );
}

/**
 * Names of the groups under the parent whose names start with `prefix` (union over hierarchies,
 * sorted), for reconcile and leak checks. Read-only; a missing parent yields `[]`.
 * @throws KernelFeatureMissingError when no usable hierarchy is mounted.
 */
export async function listCgroups(prefix = '', opts: CgroupOptions = {}): Promise<string[]> {
  const r = await resolve(undefined, opts);
  const names = new Set<string>();
  for (const { parentDir } of r.dirs) {
    try {
      for (const e of await readdir(parentDir, { withFileTypes: true })) {
        if (e.isDirectory() && e.name.startsWith(prefix)) names.add(e.name);
      }
    } catch (err) {
      if (errnoOf(err) !== 'ENOENT') throw err;
    }
  }
  return [...names].sort();
}
