import { describe, expect, test } from 'vitest';
import { assertIfName } from './link-types.js';
import { canonicalIp, formatCidr, formatIp, parseCidr, parseIp, parseMac } from './rt-codec.js';
import { Errno, InvalidNameError, errnoFromCode, errnoFromText } from './rt-errors.js';

describe('rt-codec', () => {
  test.each([
    ['10.1.2.3', '10.1.2.3'],
    ['fd00:0:0::1', 'fd00::1'],
    ['FD00::A', 'fd00::a'],
    ['::', '::'],
    ['::1', '::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2:3:4:5:6'],
    ['::ffff:10.0.0.1', '::ffff:a00:1'],
  ])('%s reads back as %s', (text, canonical) => {
    expect(canonicalIp(text)).toBe(canonical);
  });

  test('bytes and families', () => {
    expect(parseIp('10.0.0.1')).toEqual({ family: 4, bytes: Buffer.from([10, 0, 0, 1]) });
    expect(parseIp('fd00::1').bytes.length).toBe(16);
    expect(formatIp(Buffer.alloc(16))).toBe('::');
    expect(() => parseIp('10.0.0.256')).toThrow(Errno);
  });

  test('CIDRs: a bare address is a host prefix; bad lengths are refused', () => {
    expect(parseCidr('10.0.0.0/8').prefixLength).toBe(8);
    expect(parseCidr('10.0.0.1').prefixLength).toBe(32);
    expect(parseCidr('fd00::1').prefixLength).toBe(128);
    expect(formatCidr(parseCidr('fd00:0::/64'))).toBe('fd00::/64');
    for (const bad of ['10.0.0.0/33', 'fd00::/129', '10.0.0.0/', '10.0.0.0/8x', '10.0.0.0/-1']) {
      expect(() => parseCidr(bad), bad).toThrow(Errno);
    }
  });

  test('MACs', () => {
    expect(parseMac('02:AA:00:00:00:01')).toEqual(Buffer.from([2, 0xaa, 0, 0, 0, 1]));
    expect(() => parseMac('02:aa:00:00:00')).toThrow(Errno);
  });
});

describe('errno', () => {
  test.each([
    ['RTNETLINK answers: File exists', 'EEXIST', 'File exists'],
    ['Cannot find device "tsx0"', 'ENODEV', 'Cannot find device "tsx0"'],
    ['Error: ipv4: Address not found.', 'EADDRNOTAVAIL', 'ipv4: Address not found'],
    ['RTNETLINK answers: No such process', 'ESRCH', 'No such process'],
    ['Cannot open network namespace "x": No such file or directory', 'ENONETNS', 'Cannot open network namespace "x": No such file or directory'],
    ['Cannot find device "nope"\nCommand failed -:3\n', 'ENODEV', 'Cannot find device "nope"'],
    ['something new', 'EIO', 'something new'],
  ])('%j is %s', (stderr, errno, detail) => {
    expect(errnoFromText(stderr)).toMatchObject({ errno, message: detail });
  });

  test('netlink codes are worded as strerror would', () => {
    expect(errnoFromCode('EEXIST')).toMatchObject({ errno: 'EEXIST', message: 'File exists' });
    expect(errnoFromCode(-19)).toMatchObject({ errno: 'ENODEV', message: 'No such device' });
    expect(errnoFromCode('EMSGSIZE').message).toMatch(/message too long/i);
  });
});

describe('interface names', () => {
  test('at most 15 bytes, counted in UTF-8', () => {
    expect(() => assertIfName('tsbr-0123456789')).not.toThrow();
    expect(() => assertIfName('tsbr-01234567890')).toThrow(InvalidNameError);
    expect(() => assertIfName('é'.repeat(8))).toThrow(InvalidNameError);
    for (const bad of ['', '.', '..', 'a/b', 'a:b', 'a b']) expect(() => assertIfName(bad), bad).toThrow(InvalidNameError);
  });
});
