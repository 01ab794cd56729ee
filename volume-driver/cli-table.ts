/** @module Plain-text tables for the CLI: columns padded to their widest cell, two spaces apart. */

/** `header` and `rows` as aligned lines, each ending in a newline. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [header, ...rows].map((r) => `${line(r)}\n`).join('');
}
