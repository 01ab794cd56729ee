/**
 * @module Small helpers the benchmarks share: percentiles and a plain aligned table on stdout.
 */
import { formatTable } from '../../common/cli/table.js';

/** The p-th percentile (nearest rank) of `samples`, rounded to 0.1. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Math.round(sorted[rank]! * 10) / 10;
}

/** Prints `rows` as an aligned table under `title`, the columns holding numbers in every row right-aligned. */
export function printTable(title: string, rows: ReadonlyArray<Record<string, string | number>>): void {
  const first = rows[0];
  if (!first) return;
  const cols = Object.keys(first);
  const rightAligned = cols.flatMap((c, i) => (rows.every((r) => typeof r[c] === 'number') ? [i] : []));
  console.log(`\n${title}`);
  process.stdout.write(formatTable(cols, rows.map((r) => cols.map((c) => String(r[c]))), { gap: 2, rightAligned }));
}
