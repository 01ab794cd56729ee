/**
 * @module The production build holds no test code: what tsconfig.build.json compiles (and so every
 * build of dist/: `npm run build`, `npm ci`'s prepare, scripts/ensure-build.sh, the test setup) is
 * product code only, and dist/, when present, holds nothing else. Test code is recognised by where it
 * lives (the convention in docs/testing.md) and by what it imports (vitest, fast-check, a testing/ folder).
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../common/kernel/exec.js';
import { repoRoot } from './system.js';

const ROOT = repoRoot();
const posix = (p: string) => p.split(sep).join('/');

/** Why the file at `rel` (repository-relative, .ts) is test code, or undefined when it is product code. */
function testCodeByPath(rel: string): string | undefined {
  if (/^(testing|integration|bench)\//.test(rel)) return 'a test or bench folder';
  if (/(^|\/)testing\//.test(rel)) return "an area's testing/ folder";
  if (/\.test\.ts$/.test(rel)) return 'a test file';
  if (/(^|\/)(fake-[^/]*|fixture[^/]*|[^/]*\.contract|testing|test-lan|unit-fixture)\.ts$/.test(rel)) return 'a test helper outside a testing/ folder';
  return undefined;
}

const TEST_IMPORT = /from\s+['"](vitest|@vitest\/[^'"]*|fast-check|[^'"]*\/testing\/[^'"]*)['"]/;

async function buildInputs(): Promise<string[]> {
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  const { stdout } = await run([process.execPath, tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--listFilesOnly'], { object: 'tsconfig.build.json', step: 'list the inputs of' });
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.includes('/node_modules/'))
    .map((l) => posix(relative(ROOT, l)));
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else out.push(p);
  }
  return out;
}

describe('the production build', () => {
  it('recognises test code by path and by import', () => {
    for (const p of ['testing/system.ts', 'integration/x.test.ts', 'bench/run.ts', 'ipam/testing/fake-store.ts', 'a/b.test.ts', 'a/b.root.test.ts', 'a/fake-kernel.ts', 'a/testing.ts']) {
      expect(testCodeByPath(p), p).toBeDefined();
    }
    for (const p of ['common/kernel/exec.ts', 'network-driver/modes/bridge/options.ts', 'cli/tsnet.ts']) expect(testCodeByPath(p), p).toBeUndefined();
    expect(TEST_IMPORT.test("import { it } from 'vitest';")).toBe(true);
    expect(TEST_IMPORT.test("import { x } from '../testing/fake-host.js';")).toBe(true);
    expect(TEST_IMPORT.test("import { run } from './exec.js';")).toBe(false);
  });

  it('compiles product code only (tsconfig.build.json)', async () => {
    const inputs = await buildInputs();
    expect(inputs).toContain('cli/tsnet.ts');
    const offenders: string[] = [];
    for (const rel of inputs) {
      const why = testCodeByPath(rel) ?? (TEST_IMPORT.test(await readFile(join(ROOT, rel), 'utf8')) ? 'imports test code or a test library' : undefined);
      if (why) offenders.push(`${rel}: ${why}`);
    }
    expect(offenders).toEqual([]);
  });

  it('dist/ holds nothing but the output of those sources', async () => {
    const dist = join(ROOT, 'dist');
    expect(existsSync(dist), 'the test setup (testing/build-setup.ts) builds dist/').toBe(true);
    const expected = new Set((await buildInputs()).filter((r) => r.endsWith('.ts') && !r.endsWith('.d.ts')).map((r) => r.replace(/\.ts$/, '')));
    const strays = (await filesUnder(dist))
      .map((f) => posix(relative(dist, f)))
      .filter((f) => !expected.has(f.replace(/\.js(\.map)?$/, '')));
    expect(strays, 'dist/ holds files no product source compiles to: rebuild with `npm run build`').toEqual([]);
  });
});
