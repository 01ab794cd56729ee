/**
 * @module The plain-text table every CLI prints (`tsnet ipam ls|inspect|gc`, `tsnet volume ls`,
 * engine-lite `ps`, `images`, `network ls`, `volume ls`, …), aligned like `docker network ls`: each
 * column as wide as its widest cell, the last one unpadded, no trailing blanks; the benchmarks' result
 * tables too, with their number columns right-aligned. Pure.
 */

/** How a table looks beyond its cells. */
export interface TableStyle {
  /** Spaces between columns: 3 (docker's) unless given. */
  gap?: number;
  /** What an empty cell of a row shows (`-` in `tsnet ipam`): nothing unless given. */
  empty?: string;
  /** Indexes of columns whose cells (header included) are right-aligned, as numbers read best: none unless given. */
  rightAligned?: readonly number[];
}

/** Renders `rows` under `header`, one line each, every line ending in a newline. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[], { gap = 3, empty = '', rightAligned = [] }: TableStyle = {}): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (c === '' ? empty : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const separator = ' '.repeat(gap);
  const pad = (c: string, i: number, last: boolean) => (rightAligned.includes(i) ? c.padStart(widths[i]!) : last ? c : c.padEnd(widths[i]!));
  return cells.map((r) => `${r.map((c, i) => pad(c, i, i === r.length - 1)).join(separator).trimEnd()}\n`).join('');
}
