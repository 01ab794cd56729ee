/**
 * @module What the progress line of `tsnet volume export|import` says: label, bar and percentage when
 * the total is known, bytes and rate. Drawn by common/cli/progress.ts (on a terminal only).
 */
import { ProgressStream, type ProgressOutput } from '../common/cli/progress.js';
import { formatSize } from './size.js';

const BAR = 16;

/** One progress line: label, bar and percentage when `total` is known, bytes and rate. */
export function progressLine(label: string, done: number, total: number | undefined, elapsedMs: number): string {
  const rate = elapsedMs > 0 ? `${formatSize(Math.round((done * 1000) / elapsedMs))}/s` : '';
  if (!total) return `${label}  ${formatSize(done)}  ${rate}`;
  // The archive is a little bigger or smaller than the files it holds: stay below 100 % until done.
  const ratio = Math.min(done / total, 0.99);
  const filled = Math.round(ratio * BAR);
  const pct = `${Math.floor(ratio * 100)}%`.padStart(4);
  return `${label} [${'#'.repeat(filled)}${'.'.repeat(BAR - filled)}] ${pct} ${formatSize(done)} / ${formatSize(total)} ${rate}`;
}

/** A byte-counting pass-through that draws {@link progressLine} on `out` if it is a terminal; the last line shows 100 %. */
export function transferProgress(label: string, total: number | undefined, out: ProgressOutput = process.stderr): ProgressStream {
  return new ProgressStream(out, (done, elapsedMs, final) => {
    const line = progressLine(label, done, total, elapsedMs);
    return final ? line.replace(/\[#*\.*\]\s+\d+%/, `[${'#'.repeat(BAR)}] 100%`) : line;
  });
}
