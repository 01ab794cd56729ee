/**
 * @module What engine-lite's progress line says (`import`, `load`), as docker draws it:
 * `label [=====>      ] 1.2MB/4.5MB`, and sizes in docker's decimal units. Drawn by
 * common/cli/progress.ts (on a terminal only).
 */

const WIDTH = 30;
const UNITS = ['B', 'kB', 'MB', 'GB', 'TB'];

/** `1234567` → `1.23MB` (decimal units, as docker prints sizes). */
export function formatBytes(n: number): string {
  let v = n;
  let u = 0;
  while (v >= 1000 && u < UNITS.length - 1) {
    v /= 1000;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)}${UNITS[u]}`;
}

/** The bar for `done` of `total` bytes, e.g. `label [=====>      ] 1.2MB/4.5MB`. Pure. */
export function renderBar(label: string, done: number, total: number): string {
  const frac = total > 0 ? Math.min(1, done / total) : 0;
  const filled = Math.floor(frac * WIDTH);
  const bar = filled >= WIDTH ? '='.repeat(WIDTH) : `${'='.repeat(filled)}>${' '.repeat(WIDTH - filled - 1)}`;
  return `${label} [${bar}] ${formatBytes(done)}/${formatBytes(total)}`;
}
