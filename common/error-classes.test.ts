/**
 * The repository's rule for errors (docs/errors.md), checked on the source: every error class has a
 * name of its own and a stable `code` written in its body, and no two classes share a code. Tests and
 * callers branch on the class or the code, so a duplicate would make two failures indistinguishable.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SKIP = new Set(['node_modules', 'dist', 'build', '.git']);

interface ErrorClass {
  name: string;
  file: string;
  code: string | undefined;
}

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((e) => (e.isDirectory() ? (SKIP.has(e.name) ? [] : sourceFiles(join(dir, e.name))) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [])),
  );
  return nested.flat();
}

/** Top-level classes deriving from an `…Error` (or `Errno`) class, with the first `ERR_…` code their body sets. */
async function errorClasses(): Promise<ErrorClass[]> {
  const found: ErrorClass[] = [];
  for (const file of await sourceFiles(ROOT)) {
    const text = await readFile(file, 'utf8');
    for (const m of text.matchAll(/^(?:export )?class (\w+) extends (\w*Error|Errno)\b[^{]*\{\n([\s\S]*?)^\}/gm)) {
      const code = /\bcode\b[^'\n]*'(ERR_[A-Z0-9_]+)'/.exec(m[3]!)?.[1];
      found.push({ name: m[1]!, file: relative(ROOT, file), code });
    }
  }
  return found;
}

/** Entries of `items` grouped by `key` that more than one item has, as `key: a, b`. */
function duplicates(items: ErrorClass[], key: (c: ErrorClass) => string | undefined, show: (c: ErrorClass) => string): string[] {
  const groups = new Map<string | undefined, ErrorClass[]>();
  for (const c of items) groups.set(key(c), [...(groups.get(key(c)) ?? []), c]);
  return [...groups].filter(([, cs]) => cs.length > 1).map(([k, cs]) => `${k}: ${cs.map(show).join(', ')}`);
}

describe('error classes', () => {
  it('each has a name no other class has, and a code of its own', async () => {
    const classes = await errorClasses();
    expect(classes.length).toBeGreaterThan(30);
    expect(duplicates(classes, (c) => c.name, (c) => c.file)).toEqual([]);
    expect(classes.filter((c) => c.code === undefined).map((c) => `${c.name} (${c.file})`)).toEqual([]);
    expect(duplicates(classes.filter((c) => c.code !== undefined), (c) => c.code, (c) => c.name)).toEqual([]);
  });
});
