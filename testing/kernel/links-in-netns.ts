/**
 * @module Runs the {@link Links} API in a child process inside a named namespace, with no `netns`
 * option, so tests exercise the netlink path (the process's own namespace) in a throwaway
 * namespace. The child (`links-child.ts`) is compiled once per test file with the project's `tsc`
 * into a temporary directory (plain Node 20 cannot run TypeScript), removed by {@link removeLinksChildBuild}.
 */
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { onTestFinished } from 'vitest';
import { KernelError, KernelFeatureMissingError } from '../../common/kernel/errors.js';
import { run, start } from '../../common/kernel/exec.js';
import type { Links } from '../../common/kernel/links-api.js';
import { InvalidNameError, LinkConflictError, RtnlError } from '../../common/kernel/rt-errors.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const ERROR_CLASSES: Record<string, { prototype: object }> = {
  KernelError,
  KernelFeatureMissingError,
  RtnlError,
  InvalidNameError,
  LinkConflictError,
};

let compiled: Promise<string> | undefined;
let outDir: string | undefined;

/** Compiles the child once per test file (see {@link removeLinksChildBuild}). */
function compileChild(): Promise<string> {
  compiled ??= (async () => {
    const out = mkdtempSync(join(tmpdir(), 'tsnet-links-child-'));
    outDir = out;
    writeFileSync(join(out, 'package.json'), '{"type":"module"}\n');
    symlinkSync(join(REPO, 'node_modules'), join(out, 'node_modules'));
    const tsc = join(REPO, 'node_modules/typescript/bin/tsc');
    const flags = ['--ignoreConfig', '--outDir', out, '--rootDir', REPO, '--module', 'nodenext', '--moduleResolution', 'nodenext'];
    flags.push('--target', 'es2022', '--types', 'node', '--skipLibCheck');
    await run([process.execPath, tsc, ...flags, join(REPO, 'testing/kernel/links-child.ts')], { object: 'links-child.ts', step: 'compile' });
    return join(out, 'testing/kernel/links-child.js');
  })();
  return compiled;
}

/** Removes the compiled child; call it from `afterAll` in each test file that uses {@link linksInNetns}. */
export function removeLinksChildBuild(): void {
  if (outDir !== undefined) rmSync(outDir, { recursive: true, force: true });
  outDir = undefined;
  compiled = undefined;
}

/** Rebuilds an error that crossed the process boundary with its class, so `toBeInstanceOf` works. */
function revive(e: Record<string, unknown>): Error {
  const proto = ERROR_CLASSES[String(e.name)]?.prototype ?? Error.prototype;
  return Object.assign(Object.create(proto) as Error, e);
}

/**
 * A {@link Links} whose calls run in a child process inside namespace `netns` (netlink path).
 * The child is stopped when the current test finishes.
 */
export async function linksInNetns(netns: string): Promise<Links> {
  const script = await compileChild();
  const child = start(['ip', 'netns', 'exec', netns, process.execPath, script], { stdin: 'pipe', stdout: 'pipe', stderr: 'inherit' });
  const stdin = child.stdin!;
  onTestFinished(() => {
    stdin.end();
  });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  void child.done.then(({ code }) => {
    for (const p of pending.values()) p.reject(new Error(`links child exited with code ${code}`));
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const msg = JSON.parse(line) as { id: number; ok: boolean; value?: unknown; error?: Record<string, unknown> };
    const p = pending.get(msg.id);
    pending.delete(msg.id);
    if (msg.ok) p?.resolve(msg.value === null ? undefined : msg.value);
    else p?.reject(revive(msg.error ?? {}));
  });
  let nextId = 0;
  const call = (fn: string, args: unknown[]) =>
    new Promise((resolve, reject) => {
      const id = ++nextId;
      pending.set(id, { resolve, reject });
      const wire = args.map((a) => (a === undefined ? { $undefined: true } : a));
      stdin.write(JSON.stringify({ id, fn, args: wire }) + '\n');
    });
  // `then` must stay undefined, or awaiting the proxy would treat it as a promise.
  return new Proxy({} as Links, {
    get: (_t, fn) => (typeof fn !== 'string' || fn === 'then' ? undefined : (...args: unknown[]) => call(fn, args)),
  });
}
