/**
 * @module Plain-text tables for the `tsnet ipam` commands, aligned like `docker network ls`: upper-case
 * headers, columns separated by at least three spaces, `-` for an empty cell. Pure.
 */

/** Renders `rows` under `headers`, each column as wide as its widest cell; ends with a newline. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (c === '' ? '-' : c)))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3))).join('').trimEnd() + '\n').join('');
}
