/**
 * @module The plain-text table every CLI prints (`tsnet ipam ls|inspect|gc`, `tsnet volume ls`,
 * engine-lite `ps`, `images`, `network ls`, `volume ls`, …), aligned like `docker network ls`: each
 * column as wide as its widest cell, the last one unpadded, no trailing blanks. Pure.
 */

/** How a table looks beyond its cells. */
export interface TableStyle {
  /** Spaces between columns: 3 (docker's) unless given. */
  gap?: number;
  /** What an empty cell of a row shows (`-` in `tsnet ipam`): nothing unless given. */
  empty?: string;
}

/** Renders `rows` under `header`, one line each, every line ending in a newline. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[], { gap = 3, empty = '' }: TableStyle = {}): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (c === '' ? empty : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const separator = ' '.repeat(gap);
  return cells.map((r) => `${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join(separator).trimEnd()}\n`).join('');
}
