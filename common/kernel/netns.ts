/**
 * @module Named network namespaces (`/run/netns/NAME`, the same place `ip netns` uses).
 * Node cannot switch namespaces in-process (a namespace belongs to a thread), so work inside a
 * namespace is done by `ip -n NAME …` or `nsenter --net=PATH …` through {@link run}.
 */
import { randomBytes } from 'node:crypto';
import { access, mkdir, readdir, symlink, unlink } from 'node:fs/promises';
import { run, CommandError } from './exec.js';

export const NETNS_DIR = '/run/netns';

/** Path of the bind-mounted namespace file of a named namespace. */
export function netnsPath(name: string): string {
  return `${NETNS_DIR}/${name}`;
}

/** Whether the named namespace exists. */
export async function netnsExists(name: string): Promise<boolean> {
  try {
    await access(netnsPath(name));
    return true;
  } catch {
    return false;
  }
}

/** Creates the named namespace, with `lo` up. Idempotent: an existing namespace is kept as it is. */
export async function ensureNetns(name: string): Promise<void> {
  if (await netnsExists(name)) return;
  try {
    await run(['ip', 'netns', 'add', name], { object: `netns "${name}"`, step: 'create' });
  } catch (err) {
    if (!(err instanceof CommandError && /File exists/.test(err.stderr))) throw err;
  }
  await run(['ip', '-n', name, 'link', 'set', 'lo', 'up'], { object: `netns "${name}"`, step: 'bring up lo in' });
}

/** Deletes the named namespace. Idempotent: a missing namespace counts as deleted. */
export async function deleteNetns(name: string): Promise<void> {
  if (!(await netnsExists(name))) return;
  try {
    await run(['ip', 'netns', 'delete', name], { object: `netns "${name}"`, step: 'delete' });
  } catch (err) {
    if (!(err instanceof CommandError && /No such file/.test(err.stderr))) throw err;
  }
}

/** Names of the named namespaces that start with `prefix`. */
export async function listNetns(prefix = ''): Promise<string[]> {
  try {
    return (await readdir(NETNS_DIR)).filter((n) => n.startsWith(prefix)).sort();
  } catch {
    return [];
  }
}

/** Runs `argv` inside the named namespace's network stack (`ip netns exec`), resolving with its output. */
export function runInNetns(name: string, argv: readonly string[], step = 'run in') {
  return run(['ip', 'netns', 'exec', name, ...argv], { object: `netns "${name}"`, step });
}

/**
 * Runs `fn` with the namespace file at `path` (a sandbox key such as `/var/run/docker/netns/…`)
 * reachable as a named namespace (a `ts…` symlink in /run/netns), so the link functions' `netns`
 * option can act inside it; the name is removed afterwards.
 */
export async function withNetnsAt<T>(path: string, fn: (name: string) => Promise<T>): Promise<T> {
  await access(path);
  const name = `tsns-${randomBytes(4).toString('hex')}`;
  await mkdir(NETNS_DIR, { recursive: true });
  await symlink(path, netnsPath(name));
  try {
    return await fn(name);
  } finally {
    await unlink(netnsPath(name)).catch(() => undefined);
  }
}
