/**
 * @module `npm run bench` lists the benchmarks with what each measures; `npm run bench -- NAME [ARGS…]`
 * runs one (e.g. `npm run bench -- protocol-latency 2000`). The benches are built into build/tools/bench/
 * (tsconfig.tools.json), never into dist/, and use the product build in dist/ (`npm run bench` brings
 * both up to date first). Most need root; those marked so in their description also need the dockerd lock.
 */
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';

const HERE = import.meta.dirname;

/** Bench names (their file names without `.js`), this runner left out. */
async function benches(): Promise<string[]> {
  const self = basename(import.meta.filename);
  return (await readdir(HERE)).filter((f) => f.endsWith('.js') && f !== self).map((f) => f.slice(0, -3)).sort();
}

const WIDTH = 100;

/** The start of a bench's module comment, on one line, cut at its first sentence or at {@link WIDTH}. */
async function summary(name: string): Promise<string> {
  const text = await readFile(join(HERE, `${name}.js`), 'utf8');
  const doc = /\/\*\*([\s\S]*?)\*\//.exec(text)?.[1] ?? '';
  const flat = doc.replace(/^\s*\*\s?/gm, '').replace(/@module\s*/, '').replace(/\s+/g, ' ').trim();
  const sentence = /^(.*?\.)(\s|$)/.exec(flat)?.[1] ?? flat;
  return sentence.length <= WIDTH ? sentence : `${sentence.slice(0, WIDTH - 1)}…`;
}

async function main(args: string[]): Promise<number> {
  const all = await benches();
  const [name, ...rest] = args;
  if (name === undefined || name === '--help' || name === '-h') {
    console.log('usage: npm run bench -- NAME [ARGS…]   (arguments: see the head of bench/NAME.ts)\n');
    for (const b of all) console.log(`  ${b.padEnd(20)} ${await summary(b)}`);
    return 0;
  }
  if (!all.includes(name)) {
    console.error(`no bench "${name}"; there are: ${all.join(', ')}`);
    return 2;
  }
  // The bench reads its arguments from process.argv[2…] and may start itself again from argv[1].
  const file = join(HERE, `${name}.js`);
  process.argv = [process.argv[0]!, file, ...rest];
  await import(pathToFileURL(file).href);
  return 0;
}

const rc = await main(process.argv.slice(2));
if (rc !== 0) process.exitCode = rc;
