import { describe, expect, it } from 'vitest';
import { blockSize, containsAddress, containsPrefix, formatPrefix, overlaps, parsePrefix, prefixSize } from './prefix.js';

const p = (s: string) => parsePrefix(s)!;

describe('prefix maths', () => {
  it('clears host bits, or refuses them when strict', () => {
    expect(formatPrefix(p('10.20.0.5/24'))).toBe('10.20.0.0/24');
    expect(parsePrefix('10.20.0.5/24', true)).toBeUndefined();
    expect(parsePrefix('10.20.0.0/24', true)).toEqual({ family: 4, first: 0x0a140000n, last: 0x0a1400ffn, len: 24 });
    expect(formatPrefix(p('fd00:1:2:3::9/64'))).toBe('fd00:1:2:3::/64');
    expect(parsePrefix('10.20.0.0')).toBeUndefined();
  });

  it('sizes, containment and overlap, never across families', () => {
    expect(prefixSize(p('0.0.0.0/0'))).toBe(1n << 32n);
    expect(prefixSize(p('fd00::/64'))).toBe(1n << 64n);
    expect(blockSize(4, 24)).toBe(256n);
    expect(blockSize(6, 128)).toBe(1n);
    expect(blockSize(4, 0)).toBe(prefixSize(p('0.0.0.0/0')));
    expect(containsPrefix(p('10.0.0.0/8'), p('10.20.0.0/24'))).toBe(true);
    expect(containsPrefix(p('10.20.0.0/24'), p('10.0.0.0/8'))).toBe(false);
    expect(overlaps(p('10.20.0.0/24'), p('10.0.0.0/8'))).toBe(true);
    expect(overlaps(p('10.20.0.0/24'), p('10.20.1.0/24'))).toBe(false);
    expect(overlaps(p('0.0.0.0/0'), p('::/0'))).toBe(false);
    expect(containsAddress(p('10.20.0.0/24'), 4, 0x0a1400ffn)).toBe(true);
    expect(containsAddress(p('10.20.0.0/24'), 6, 0x0a1400ffn)).toBe(false);
  });
});
