/**
 * @module The kernel layer's exec module is the only way to run programs: no source file outside
 * `common/kernel/` (tests, test infrastructure and benchmarks included) may import `node:child_process`
 * or execa.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Not the project's sources: dependencies, build outputs, the plugin's staging. */
const SKIP = new Set(['node_modules', 'dist', 'build', '.git']);
const SPAWNING = /(?:from\s*|import\s*\(\s*|require\s*\(\s*)['"](?:node:)?child_process['"]|(?:from\s*|import\s*\(\s*|require\s*\(\s*)['"]execa['"]/;

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (SKIP.has(e.name)) continue;
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await sources(path)));
    else if (/\.(c|m)?(t|j)s$/.test(e.name)) out.push(path);
  }
  return out;
}

describe('one way to run programs', () => {
  it('finds the imports it looks for', () => {
    for (const line of ["import { spawn } from 'node:child_process';", "const { spawn } = await import('node:child_process');", "import { execa } from 'execa';", "require('child_process')"]) {
      expect(SPAWNING.test(line), line).toBe(true);
    }
    expect(SPAWNING.test("import { run } from '../common/kernel/exec.js';")).toBe(false);
  });

  it('nothing outside common/kernel imports child_process or execa', async () => {
    const kernel = `common${sep}kernel${sep}`;
    const offenders: string[] = [];
    for (const file of await sources(ROOT)) {
      const rel = relative(ROOT, file);
      if (rel.startsWith(kernel)) continue;
      if (SPAWNING.test(await readFile(file, 'utf8'))) offenders.push(rel);
    }
    expect(offenders, 'run programs through common/kernel/exec.ts (run, runPiped, start)').toEqual([]);
  });
});
