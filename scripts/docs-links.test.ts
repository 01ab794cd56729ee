/**
 * @module Keeps the documentation's references true: every relative link in README.md and docs/*.md
 * names a file that exists (and, with `#anchor`, a heading of that file, slugged as GitHub does), and
 * every document a source comment cites (`docs/x.md`, `plugin-protocol.md §2.8`) exists, down to the
 * cited section; and every repository path the pages write as code (`ipam/core/gc.ts`, `testing/`,
 * `node dist/cli/tsnet.js`) names something that exists. Reads the repository's files; no root, no network.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DOC_FILES = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
/** Folders that hold no source of ours. */
const SKIP_DIRS = new Set(['node_modules', 'dist', 'build', '.git', 'test-artifacts']);
const SOURCE_FILE = /\.(ts|js|sh|json|service)$/;
/** Files whose `.md` mentions are not citations: npm's lock file, and this test's own examples. */
const NOT_SCANNED = new Set(['package-lock.json', 'scripts/docs-links.test.ts']);

/** The lines of `markdown` outside fenced code blocks. */
function proseLines(markdown: string): string[] {
  let fenced = false;
  return markdown.split('\n').filter((line) => {
    if (line.trimStart().startsWith('```')) {
      fenced = !fenced;
      return false;
    }
    return !fenced;
  });
}

/** GitHub's anchor for a heading's text: lower case, punctuation dropped, each space a `-`. */
function slug(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** Every anchor the headings of `markdown` get, repeated ones numbered `-1`, `-2`, … as GitHub does. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const line of proseLines(markdown)) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = slug(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** The targets of the Markdown links and images in `markdown`, outside code. */
function linkTargets(markdown: string): string[] {
  const targets: string[] = [];
  for (const line of proseLines(markdown)) {
    const prose = line.replace(/`[^`]*`/g, '');
    for (const m of prose.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) targets.push(m[1]!);
  }
  return targets;
}

/**
 * The repository paths in the code of `markdown` (inline code spans and fenced blocks): words that start
 * with a top-level folder of `tops` and a `/`, as in `ipam/core/gc.ts`, `sh scripts/test.sh` or a tree
 * listing's `testing/`. Trailing punctuation (`.`, `,`, `:`, `;`, `)`) is not part of the path. A
 * bench run as `npm run bench -- name` (lower case; `NAME` is a placeholder) names the path `bench/name.ts`.
 */
function codePaths(markdown: string, tops: readonly string[]): string[] {
  const word = new RegExp(`(?<![\\w./~$-])(?:${tops.map((t) => t.replace(/[.-]/g, '\\$&')).join('|')})/[\\w./@*<>…-]*`, 'g');
  const out: string[] = [];
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.trimStart().startsWith('```')) {
      fenced = !fenced;
      continue;
    }
    const code = fenced ? [line] : [...line.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    for (const text of code) {
      for (const m of text.matchAll(word)) out.push(m[0].replace(/[.,:;)]+$/, ''));
      for (const m of text.matchAll(/npm run bench -- ([a-z][\w-]*)/g)) out.push(`bench/${m[1]!}.ts`);
    }
  }
  return out;
}

/** The top-level folders of the repository (and the build outputs `dist/` and `build/`, built or not). */
function topFolders(): string[] {
  const dirs = readdirSync(ROOT, { withFileTypes: true }).filter((e) => e.isDirectory() && !e.name.startsWith('.') && e.name !== 'node_modules');
  return [...new Set([...dirs.map((e) => e.name), 'dist', 'build'])];
}

/** Every file of the repository below `dir` and every folder (with a trailing `/`), relative to ROOT; no build outputs. */
function repositoryPaths(dir = ROOT): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || SKIP_DIRS.has(entry.name)) continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(`${relative(ROOT, full)}/`, ...repositoryPaths(full));
    else out.push(relative(ROOT, full));
  }
  return out;
}

/**
 * A test of a repository-relative path against tsconfig `exclude` patterns: a pattern matches the path
 * or a folder above it; `**` stands for any folders, `*` for part of one name.
 */
function excludedBy(patterns: readonly string[]): (path: string) => boolean {
  const res = patterns.map((p) => {
    const body = p
      .replace(/\/$/, '')
      .split(/(\*\*\/|\/\*\*|\*)/)
      .map((part) => ({ '**/': '(?:.*/)?', '/**': '(?:/.*)?', '*': '[^/]*' })[part] ?? part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('');
    return new RegExp(`^${body}(?:/.*)?$`);
  });
  return (path) => res.some((re) => re.test(path));
}

/** Sources the product build leaves out of dist/ (tsconfig.build.json's `exclude`: tests, test infrastructure, benchmarks). */
const NOT_IN_DIST = excludedBy((JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8')) as { exclude: string[] }).exclude);

/**
 * What is wrong with one repository path written as code, or undefined when it holds. `<name>`, `…`
 * and `*` stand for any part of one path segment. A path with a file extension or a trailing `/` must
 * name a file or folder; one without either (a vitest filter such as `integration/ipam`) must begin
 * one. Build outputs are checked against their source: `dist/X.js` needs `X.ts` in the product build,
 * `build/tools/X.js` needs `X.ts`; the rest of `build/` (the managed plugin's staging) is made by
 * packaging/plugin/build.sh and is not checked.
 */
function brokenCodePath(from: string, written: string, paths: readonly string[]): string | undefined {
  let path = written;
  let source = (p: string) => p;
  if (written.startsWith('build/') && !written.startsWith('build/tools/')) return undefined;
  for (const [out, inBuild] of [['dist/', (p: string) => !NOT_IN_DIST(p)], ['build/tools/', (p: string) => !p.endsWith('.test.ts')]] as const) {
    if (!written.startsWith(out)) continue;
    path = written.slice(out.length).replace(/\.js$/, '.ts');
    if (path === '') return undefined;
    source = (p) => (inBuild(p) ? p : '');
  }
  const exact = /\.[a-z]+$|\/$/i.test(path);
  const pattern = path
    .split(/(<[^>/]*>|…|\*)/)
    .map((part, i) => (i % 2 === 1 ? '[^/]*' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  const re = new RegExp(`^${pattern}${exact ? '$' : ''}`);
  if (paths.some((p) => re.test(source(p)))) return undefined;
  const what = written === path ? '' : written.startsWith('dist/') ? ` (it needs ${path}, not excluded by tsconfig.build.json)` : ` (it needs ${path})`;
  return `${from}: \`${written}\`: no such ${exact ? 'file or folder' : 'path'} in the repository${what}`;
}

/** What is wrong with one relative link of `from` (a path below ROOT), or undefined when it holds. */
function brokenLink(from: string, target: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return undefined;
  const [path = '', anchor] = target.split('#', 2);
  const file = path === '' ? join(ROOT, from) : resolve(join(ROOT, dirname(from)), decodeURIComponent(path));
  if (!existsSync(file)) return `${from}: ${target}: no file ${relative(ROOT, file)}`;
  if (anchor === undefined || anchor === '') return undefined;
  if (!file.endsWith('.md')) return `${from}: ${target}: an anchor into a file that is not Markdown`;
  if (!anchors(readFileSync(file, 'utf8')).has(anchor)) return `${from}: ${target}: no heading with anchor #${anchor} in ${relative(ROOT, file)}`;
  return undefined;
}

/** Every source file of ours below `dir`, relative to ROOT. */
function sourceFiles(dir = ROOT): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || SKIP_DIRS.has(entry.name)) continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(full));
    else if (SOURCE_FILE.test(entry.name) && !NOT_SCANNED.has(relative(ROOT, full)) && statSync(full).size < 1_000_000) out.push(relative(ROOT, full));
  }
  return out;
}

/** The sections `docs/plugin-protocol.md` has: `1`, `1.1`, … from headings `## 1. …`, `### 1.1 …`. */
function protocolSections(): Set<string> {
  const text = readFileSync(join(ROOT, 'docs/plugin-protocol.md'), 'utf8');
  const out = new Set<string>();
  for (const line of proseLines(text)) {
    const m = /^#{2,4}\s+(\d+(?:\.\d+)*)\.?\s/.exec(line);
    if (m) out.add(m[1]!);
  }
  return out;
}

/** What is wrong with the documents cited in one source file's text, one line per problem. */
function brokenCitations(file: string, text: string, sections: Set<string>): string[] {
  const problems: string[] = [];
  // `\s*\*?\s*` lets a citation wrap onto the next comment line (`plugin-protocol.md\n * §2.9`).
  for (const m of text.matchAll(/(?<![\w/.-])([\w./-]*[\w-]+\.md)\b(?:[\s*]*§\s*([\d.]+\d)(?:\s*[–-]\s*([\d.]+\d))?)?/g)) {
    const [, cited = '', from, to] = m;
    const path = cited.includes('/') ? join(ROOT, cited) : join(ROOT, dirname(file), cited);
    const where = `${file}: ${cited}`;
    if (!existsSync(path)) {
      problems.push(`${where}: no such document (cite it by its path from the repository root, e.g. docs/…)`);
      continue;
    }
    if (from === undefined) continue;
    if (!cited.endsWith('plugin-protocol.md')) {
      problems.push(`${where} §${from}: only docs/plugin-protocol.md has numbered sections`);
      continue;
    }
    for (const s of [from, to]) if (s !== undefined && !sections.has(s)) problems.push(`${where} §${s}: no such section`);
  }
  return problems;
}

describe('documentation links', () => {
  it('finds the pages and the sources', () => {
    expect(DOC_FILES).toContain('docs/plugin-protocol.md');
    expect(DOC_FILES).toContain('docs/architecture.md');
    expect(sourceFiles()).toContain('common/protocol/server.ts');
  });

  for (const doc of DOC_FILES) {
    it(`${doc}: every relative link names an existing file and heading`, () => {
      const broken = linkTargets(readFileSync(join(ROOT, doc), 'utf8'))
        .map((t) => brokenLink(doc, t))
        .filter((p): p is string => p !== undefined);
      expect(broken).toEqual([]);
    });
  }

  const tops = topFolders();
  const paths = repositoryPaths();
  for (const doc of DOC_FILES) {
    it(`${doc}: every repository path written as code exists`, () => {
      const broken = codePaths(readFileSync(join(ROOT, doc), 'utf8'), tops)
        .map((p) => brokenCodePath(doc, p, paths))
        .filter((p): p is string => p !== undefined);
      expect(broken).toEqual([]);
    });
  }

  it('every document a source file cites exists, with the cited section', () => {
    const sections = protocolSections();
    const problems = sourceFiles().flatMap((f) => brokenCitations(f, readFileSync(join(ROOT, f), 'utf8'), sections));
    expect(problems).toEqual([]);
  });
});

describe('the checks themselves', () => {
  it('slug GitHub headings as GitHub does', () => {
    const md = '# A\n## `tsnet doctor`: is it?\n### Options\n### Options\n```sh\n# not a heading\n```\n## Cluster pools (`--ipam-opt cluster=true`, for overlays)\n';
    expect([...anchors(md)]).toEqual(['a', 'tsnet-doctor-is-it', 'options', 'options-1', 'cluster-pools---ipam-opt-clustertrue-for-overlays']);
  });

  it('find links and images outside code, not inside', () => {
    const md = 'see [a](docs/a.md#x) and ![p](p.png) but `[no](no.md)`\n```\n[no](no2.md)\n```\n';
    expect(linkTargets(md)).toEqual(['docs/a.md#x', 'p.png']);
  });

  it('report a missing document, a missing section and a cited range whose end is missing', () => {
    const sections = new Set(['2', '2.6', '2.8']);
    const text = ' * see docs/nowhere.md and docs/plugin-protocol.md §2.8, docs/plugin-protocol.md\n * §2.6–2.10, docs/plugin-protocol.md §9.1';
    expect(brokenCitations('common/x.ts', text, sections)).toEqual([
      'common/x.ts: docs/nowhere.md: no such document (cite it by its path from the repository root, e.g. docs/…)',
      'common/x.ts: docs/plugin-protocol.md §2.10: no such section',
      'common/x.ts: docs/plugin-protocol.md §9.1: no such section',
    ]);
  });

  it('report a link to a missing file or heading', () => {
    expect(brokenLink('README.md', 'docs/none.md')).toBe('README.md: docs/none.md: no file docs/none.md');
    expect(brokenLink('README.md', 'docs/plugin-protocol.md#no-such-heading')).toMatch(/no heading with anchor #no-such-heading/);
    expect(brokenLink('README.md', 'https://example.org/x.md')).toBeUndefined();
  });

  it('find repository paths in code spans and fenced blocks, not in prose or under other roots', () => {
    const md = 'ipam/x.ts in prose, `ipam/core/gc.ts`, `sh scripts/test.sh`, `/ipam/abs.ts`, `my-ipam/x.ts`\n```\ntesting/   infrastructure\nnode dist/cli/tsnet.js.\nsudo npm run bench -- ipam-bench 10\n```\n';
    expect(codePaths(md, ['ipam', 'scripts', 'testing', 'dist'])).toEqual(['ipam/core/gc.ts', 'scripts/test.sh', 'testing/', 'dist/cli/tsnet.js', 'bench/ipam-bench.ts']);
  });

  it('read tsconfig exclude patterns as tsc does', () => {
    const excluded = excludedBy(['bench', '**/testing/**', '**/*.test.ts', 'dist']);
    for (const p of ['bench/run.ts', 'ipam/testing/fixture-allocator.ts', 'testing/system.ts', 'a/b/c.test.ts', 'a/b.root.test.ts', 'dist/cli/tsnet.js']) expect(excluded(p), p).toBe(true);
    for (const p of ['benchmark.ts', 'cli/tsnet.ts', 'ipam/testing.ts', 'common/kernel/tar.ts', 'a/test.ts']) expect(excluded(p), p).toBe(false);
  });

  it('check a written path against the tree, build outputs against their sources', () => {
    const paths = ['ipam/', 'ipam/core/', 'ipam/core/gc.ts', 'ipam/cluster/cluster-pools.root.test.ts', 'bench/', 'bench/ipam-bench.ts', 'testing/', 'testing/leak-check-cli.ts', 'cli/', 'cli/tsnet.ts'];
    const bad = (p: string) => brokenCodePath('x.md', p, paths);
    for (const ok of ['ipam/core/gc.ts', 'ipam/core/', 'ipam/cluster/cluster-*.root.test.ts', 'ipam/cluster/<name>.root.test.ts', 'ipam/cl', 'dist/cli/tsnet.js', 'dist/cli/', 'build/tools/bench/ipam-bench.js', 'build/tools/testing/leak-check-cli.js', 'build/plugin/', 'dist/']) expect(bad(ok)).toBeUndefined();
    expect(bad('ipam/gc.ts')).toBe('x.md: `ipam/gc.ts`: no such file or folder in the repository');
    expect(bad('ipam/core')).toBeUndefined();
    expect(bad('ipam/admin/')).toMatch(/no such file or folder/);
    expect(bad('ipam/support')).toBe('x.md: `ipam/support`: no such path in the repository');
    expect(bad('dist/bench/ipam-bench.js')).toBe('x.md: `dist/bench/ipam-bench.js`: no such file or folder in the repository (it needs bench/ipam-bench.ts, not excluded by tsconfig.build.json)');
    expect(bad('dist/testing/leak-check-cli.js')).toMatch(/not excluded by tsconfig.build.json/);
    expect(bad('build/tools/bench/none.js')).toMatch(/\(it needs bench\/none.ts\)$/);
  });
});
