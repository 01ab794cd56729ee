import { describe, expect, it } from 'vitest';
import { formatSize, parseSize } from './size.js';

describe('parseSize', () => {
  it.each([
    ['0', 0],
    ['1048576', 1048576],
    ['512b', 512],
    ['1k', 1024],
    ['1K', 1024],
    ['1kb', 1024],
    ['1KiB', 1024],
    ['64m', 64 * 2 ** 20],
    ['1.5g', 1.5 * 2 ** 30],
    ['2 GiB', 2 * 2 ** 30],
    ['1t', 2 ** 40],
  ])('reads %j as %d bytes', (text, bytes) => expect(parseSize(text)).toBe(bytes));

  it.each(['', 'm', '12q', '1.2.3m', '-1m', '1mm', '64 m b', '1e6', '0x10', '10%', '99999999999p'])('refuses %j', (text) => {
    expect(parseSize(text)).toBeUndefined();
  });
});

describe('formatSize', () => {
  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1024, '1 KiB'],
    [1536, '1.5 KiB'],
    [64 * 2 ** 20, '64 MiB'],
    [150 * 2 ** 30, '150 GiB'],
  ])('prints %d as %j', (bytes, text) => expect(formatSize(bytes)).toBe(text));
});
