import { describe, expect, it } from 'vitest';
import { formatIp, parseIp } from '../../common/addr/parse.js';
import { InvalidRequestError } from '../../common/protocol/errors.js';
import { AddressPool } from './address-pool.js';
import { AddressInUseError, PoolExhaustedError } from '../errors.js';
import { parsePrefix } from '../../common/addr/prefix.js';
import { refusal } from '../../testing/refusal.js';

function pool(subnet: string, range?: string) {
  return new AddressPool({ id: `P/${subnet}`, space: 'LocalDefault', subnet: parsePrefix(subnet)!, ...(range && { range: parsePrefix(range)! }) });
}
const ip = (s: string) => parseIp(s)!.addr;
const next = (p: AddressPool, mode: 'lowest' | 'serial' = 'serial') => formatIp(p.family, p.claimNext(mode));

describe('AddressPool', () => {
  it('never hands out the IPv4 network or broadcast address, and exhausts after the rest', () => {
    const p = pool('10.20.0.0/30');
    expect([next(p), next(p)]).toEqual(['10.20.0.1', '10.20.0.2']);
    expect(() => p.claimNext('serial')).toThrow(PoolExhaustedError);
    expect(() => p.claim(4, ip('10.20.0.0'))).toThrow(refusal('ERR_INVALID_REQUEST', /network address/));
    expect(() => p.claim(4, ip('10.20.0.3'))).toThrow(refusal('ERR_INVALID_REQUEST', /broadcast address/));
    expect(p.usage()).toEqual({ size: 2n, used: 2n, free: 0n });
  });

  it('uses both addresses of a /31 and the one of a /32 (RFC 3021)', () => {
    const p31 = pool('10.20.0.0/31');
    expect([next(p31), next(p31)]).toEqual(['10.20.0.0', '10.20.0.1']);
    expect(next(pool('10.20.0.7/32'))).toBe('10.20.0.7');
  });

  it('serial mode goes on after the last address handed out, and wraps around', () => {
    const p = pool('10.20.0.0/29'); // .1-.6 usable
    expect([next(p), next(p), next(p)]).toEqual(['10.20.0.1', '10.20.0.2', '10.20.0.3']);
    p.release(ip('10.20.0.2'));
    expect(next(p)).toBe('10.20.0.4'); // not the just-freed .2
    expect(next(p, 'lowest')).toBe('10.20.0.2'); // lowest mode reuses it
    expect([next(p), next(p)]).toEqual(['10.20.0.5', '10.20.0.6']);
    p.release(ip('10.20.0.1'));
    expect(next(p)).toBe('10.20.0.1'); // wrapped
  });

  it('takes next-free addresses from the sub-pool, but specific ones anywhere in the subnet', () => {
    const p = pool('10.20.0.0/24', '10.20.0.128/30');
    expect(next(p)).toBe('10.20.0.128');
    p.claim(4, ip('10.20.0.2')); // an --aux-address outside --ip-range
    expect([next(p), next(p), next(p)]).toEqual(['10.20.0.129', '10.20.0.130', '10.20.0.131']);
    expect(() => p.claimNext('serial')).toThrow(PoolExhaustedError);
    expect(p.usage()).toEqual({ size: 254n, used: 5n, free: 0n });
    expect(() => p.claim(4, ip('10.20.1.1'))).toThrow(InvalidRequestError);
    expect(() => p.claim(4, ip('10.20.0.2'))).toThrow(AddressInUseError);
    expect(() => p.claim(6, ip('::1'))).toThrow(refusal('ERR_INVALID_REQUEST', /not in pool/));
  });

  it('handles an IPv6 /64: reserves the subnet-router anycast only, and counts 2^64 - 1', () => {
    const p = pool('fd00:1::/64');
    expect(next(p)).toBe('fd00:1::1');
    p.claim(6, ip('fd00:1::ffff:ffff:ffff:ffff'));
    expect(() => p.claim(6, ip('fd00:1::'))).toThrow(refusal('ERR_INVALID_REQUEST', /network address/));
    expect(p.usage()).toEqual({ size: (1n << 64n) - 1n, used: 2n, free: (1n << 64n) - 3n });
  });

  it('releases idempotently', () => {
    const p = pool('10.20.0.0/24');
    const a = p.claimNext('serial');
    expect(p.release(a)).toBe(true);
    expect(p.release(a)).toBe(false);
  });
});
