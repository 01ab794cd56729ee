/**
 * @module Helpers the command groups share: repeatable flags, `k=v` lists, JSON output as docker
 * prints it, and the engine opened once per command (with reconcile) by the program's hook.
 */
import { InvalidArgumentError } from '../errors.js';
import type { Engine } from '../engine.js';

/** Commander reducer for a repeatable flag. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** `['a=b', 'c=d']` → `{a: 'b', c: 'd'}`. @throws InvalidArgumentError naming `flag` */
export function keyValues(list: readonly string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new InvalidArgumentError(`invalid ${flag} "${item}": expected key=value`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

/** Prints `value` as docker's inspect commands do (JSON, 4-space indent). */
function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 4)}\n`);
}

/** Prints inspect views: a JSON array, or one rendered `--format` line per view. */
export async function printViews(views: readonly unknown[], format: string | undefined): Promise<void> {
  if (format === undefined) return printJson(views);
  const { renderTemplate } = await import('../format.js');
  for (const v of views) process.stdout.write(`${renderTemplate(format, v)}\n`);
}

/**
 * Prints list rows: one rendered line per row with a `--format` template, else a table with
 * `columns` (`[heading, row key]`).
 */
export async function printRows<R extends Record<string, string>>(rows: readonly R[], format: string | undefined, columns: readonly [string, keyof R][]): Promise<void> {
  if (format !== undefined) {
    const { renderTemplate } = await import('../format.js');
    for (const r of rows) process.stdout.write(`${renderTemplate(format, r)}\n`);
    return;
  }
  const { formatTable } = await import('../../common/cli/table.js');
  process.stdout.write(formatTable(columns.map(([h]) => h), rows.map((r) => columns.map(([, k]) => r[k]!))));
}

let current: Engine | undefined;

/** Makes `engine` the one commands use (set by the program's pre-action hook). */
export function setEngine(engine: Engine): void {
  current = engine;
}

/** The engine of this command. */
export function engine(): Engine {
  if (!current) throw new Error('engine-lite: no engine opened (pre-action hook did not run)');
  return current;
}

/** Runs `fn` for each of `refs` (docker's `rm a b c` style), printing each ref that succeeded; the last failure is rethrown after all ran. */
export async function forEachRef(refs: readonly string[], fn: (ref: string) => Promise<void>): Promise<void> {
  let failure: unknown;
  for (const ref of refs) {
    try {
      await fn(ref);
      process.stdout.write(`${ref}\n`);
    } catch (err) {
      process.stderr.write(`Error: ${(err as Error).message}\n`);
      failure = err;
    }
  }
  if (failure !== undefined) throw Object.assign(failure as Error, { reported: true });
}
