/**
 * @module Sizes as users write them (`64m`, `1.5GiB`, `512k`, `1048576`), read the way Docker reads
 * `size=` and `--memory` (go-units `RAMInBytes`: binary multiples, optional `i`/`b`), and printed back
 * for people.
 */

const UNITS = ['', 'k', 'm', 'g', 't', 'p'] as const;
const SIZE = /^(\d+(?:\.\d+)?) ?([kmgtp])?(i?b)?$/i;

/** The valid forms, for error messages. */
export const SIZE_FORMS = 'a number of bytes with an optional unit k, m, g, t or p (binary; "kb", "kib" and "k" are the same), e.g. 64m or 1.5g';

/**
 * Bytes in `text` (`64m` = 64 × 2^20), rounded down; `undefined` when it is not a size.
 * A `b` alone or nothing means bytes.
 */
export function parseSize(text: string): number | undefined {
  const m = SIZE.exec(text.trim());
  if (!m) return undefined;
  const unit = (m[2] ?? '').toLowerCase() as (typeof UNITS)[number];
  const bytes = Math.floor(Number(m[1]) * 1024 ** UNITS.indexOf(unit));
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** `bytes` for people: `0 B`, `512 B`, `1.5 KiB`, `64 MiB`, with at most one decimal. */
export function formatSize(bytes: number): string {
  let value = bytes;
  let i = 0;
  while (value >= 1024 && i < UNITS.length - 1) {
    value /= 1024;
    i++;
  }
  if (i === 0) return `${bytes} B`;
  const shown = value >= 100 || Number.isInteger(value) ? Math.round(value).toString() : value.toFixed(1).replace(/\.0$/, '');
  return `${shown} ${UNITS[i]!.toUpperCase()}iB`;
}
