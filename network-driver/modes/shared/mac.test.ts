import { describe, expect, it } from 'vitest';
import { macFromIp } from './mac.js';

describe('macFromIp', () => {
  it('is 02:42 plus the IPv4 bytes, as Docker makes it', () => {
    expect(macFromIp('10.20.0.5')).toBe('02:42:0a:14:00:05');
    expect(macFromIp('172.17.255.254/16')).toBe('02:42:ac:11:ff:fe');
  });

  it('uses the last four bytes of an IPv6 address', () => {
    expect(macFromIp('fd54:7473:6e65::a:102/64')).toBe('02:42:00:0a:01:02');
  });

  it('refuses what is not an address', () => {
    expect(() => macFromIp('eth0')).toThrow(RangeError);
  });
});
