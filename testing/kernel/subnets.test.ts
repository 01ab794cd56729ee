import { describe, expect, it } from 'vitest';
import { parseCidr } from '../../common/addr/parse.js';
import { cidrsOverlap, parseRouteDst, pickFreeSubnets } from './subnets.js';

const cidr = (s: string) => parseCidr(s)!;

describe('cidrsOverlap', () => {
  it.each([
    ['10.200.0.0/24', '10.200.0.0/24', true],
    ['10.200.0.0/16', '10.200.5.0/24', true],
    ['10.200.5.0/24', '10.200.0.0/16', true],
    ['10.200.0.0/24', '10.200.1.0/24', false],
    ['10.200.0.7/32', '10.200.0.0/29', true],
    ['10.200.0.8/32', '10.200.0.0/29', false],
    ['0.0.0.0/0', '10.200.0.0/24', true],
    ['fd54:7473:6e65::/48', 'fd54:7473:6e65:12::/64', true],
    ['fd54:7473:6e65:1::/64', 'fd54:7473:6e65:2::/64', false],
  ])('%s ~ %s → %s', (a, b, expected) => {
    expect(cidrsOverlap(cidr(a), cidr(b))).toBe(expected);
  });

  it('never matches across families', () => {
    expect(cidrsOverlap(cidr('0.0.0.0/0'), cidr('::/0'))).toBe(false);
  });
});

describe('parseRouteDst', () => {
  it('reads prefixes, bare hosts and skips default', () => {
    expect(parseRouteDst('10.1.0.0/16')).toEqual({ family: 4, addr: 0x0a010000n, prefixLen: 16 });
    expect(parseRouteDst('192.0.2.2')?.prefixLen).toBe(32);
    expect(parseRouteDst('fe80::1')?.prefixLen).toBe(128);
    expect(parseRouteDst('default')).toBeUndefined();
  });
});

describe('pickFreeSubnets', () => {
  it('returns consecutive free subnets from the start slot', () => {
    expect(pickFreeSubnets([], 3, { family: 4, prefixLen: 24 })).toEqual(['10.200.0.0/24', '10.200.1.0/24', '10.200.2.0/24']);
    expect(pickFreeSubnets([], 1, { family: 4, prefixLen: 24, start: 5n })).toEqual(['10.200.5.0/24']);
  });

  it('skips subnets that overlap a route, whether larger, smaller or equal', () => {
    const taken = ['10.200.0.0/23', '10.200.2.77', '10.200.3.0/24', 'default', '10.0.0.0/9', '192.0.2.0/24'];
    expect(pickFreeSubnets(taken, 2, { family: 4, prefixLen: 24 })).toEqual(['10.200.4.0/24', '10.200.5.0/24']);
  });

  it('ignores default routes and the other family', () => {
    const taken = ['0.0.0.0/0', 'default', 'fd54:7473:6e65::/64', '::/0'];
    expect(pickFreeSubnets(taken, 1, { family: 4, prefixLen: 16 })).toEqual(['10.200.0.0/16']);
    expect(pickFreeSubnets(taken, 1, { family: 6, prefixLen: 64 })).toEqual(['fd54:7473:6e65:1::/64']);
  });

  it('wraps around the end of the range', () => {
    // /13 holds 8 /16s; start at the last one, which is taken.
    expect(pickFreeSubnets(['10.207.0.0/16'], 2, { family: 4, prefixLen: 16, start: 7n })).toEqual([
      '10.200.0.0/16',
      '10.201.0.0/16',
    ]);
    expect(pickFreeSubnets([], 1, { family: 4, prefixLen: 16, start: 8n + 3n })).toEqual(['10.203.0.0/16']);
  });

  it('throws when the range is full, or the prefix does not fit it', () => {
    expect(() => pickFreeSubnets(['10.200.0.0/13'], 1, { family: 4, prefixLen: 24 })).toThrow(/only 0 of 1/);
    expect(() => pickFreeSubnets([], 9, { family: 4, prefixLen: 16 })).toThrow(/only 8 of 9/);
    expect(() => pickFreeSubnets([], 1, { family: 4, prefixLen: 12 })).toThrow(RangeError);
    expect(() => pickFreeSubnets([], 1, { family: 6, prefixLen: 129 })).toThrow(RangeError);
  });

  it('copes with a range too large to scan completely', () => {
    expect(pickFreeSubnets([], 2, { family: 6, prefixLen: 120, start: (1n << 72n) - 1n })).toEqual([
      'fd54:7473:6e65:ffff:ffff:ffff:ffff:ff00/120',
      'fd54:7473:6e65::/120',
    ]);
  });
});
