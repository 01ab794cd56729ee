import { describe, expect, it } from 'vitest';
import { formatIp, hostCidr, isMac, parseCidr, parseIp } from './parse.js';

describe('parseIp / formatIp', () => {
  it.each([
    ['10.20.0.1', 4, 0x0a140001n],
    ['255.255.255.255', 4, 0xffffffffn],
    ['::', 6, 0n],
    ['::1', 6, 1n],
    ['fd00::1:2', 6, (0xfd00n << 112n) | (1n << 16n) | 2n],
    ['::ffff:10.0.0.1', 6, (0xffffn << 32n) | 0x0a000001n],
  ])('round-trips %s', (text, family, value) => {
    expect(parseIp(text)).toEqual({ family, addr: value });
    if (!text.includes('.') || family === 4) expect(formatIp(family as 4 | 6, value)).toBe(text);
  });

  it('formats IPv6 per RFC 5952 (longest zero run, not a single group)', () => {
    expect(formatIp(6, parseIp('2001:db8:0:0:1:0:0:1')!.addr)).toBe('2001:db8::1:0:0:1');
    expect(formatIp(6, parseIp('2001:db8:0:1:1:1:1:1')!.addr)).toBe('2001:db8:0:1:1:1:1:1');
  });

  it('rejects what is not an address', () => {
    for (const bad of ['', '10.0.0', '10.0.0.256', 'fe80::1%eth0', '1::2::3', 'x']) expect(parseIp(bad)).toBeUndefined();
  });
});

describe('parseCidr', () => {
  it('parses IPv4 and IPv6 prefixes, keeping host bits', () => {
    expect(parseCidr('10.20.0.1/24')).toEqual({ family: 4, addr: 0x0a140001n, prefixLen: 24 });
    expect(parseCidr('fd00::/64')).toMatchObject({ family: 6, prefixLen: 64 });
  });

  it('rejects missing or out-of-range lengths', () => {
    for (const bad of ['10.0.0.0', '10.0.0.0/33', '::/129', '10.0.0.0/', '10.0.0.0/-1', '10.0.0.0/2a']) {
      expect(parseCidr(bad)).toBeUndefined();
    }
  });
});

describe('hostCidr', () => {
  it('gives a plain address its host length, and refuses anything else', () => {
    expect(hostCidr('10.0.0.1')).toBe('10.0.0.1/32');
    expect(hostCidr('fd00::1')).toBe('fd00::1/128');
    for (const bad of ['10.0.0.1/24', '', 'fe80::1%eth0']) expect(() => hostCidr(bad)).toThrow(RangeError);
  });
});

describe('isMac', () => {
  it('accepts six hex pairs only', () => {
    expect(isMac('02:42:0a:14:00:05')).toBe(true);
    expect(isMac('02:42:0A:14:00:05')).toBe(true);
    expect(isMac('02:42:0a:14:00')).toBe(false);
    expect(isMac('AkIKFAAF')).toBe(false);
  });
});
