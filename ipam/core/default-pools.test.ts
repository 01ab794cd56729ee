import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../common/protocol/errors.js';
import { findFreeSubnet, formatDefaultPool, parseDefaultPool, resolveDefaultPools, ulaDefaultPool } from './default-pools.js';
import { formatPrefix, parsePrefix } from '../../common/addr/prefix.js';

const pools = (...s: string[]) => s.map(parseDefaultPool);
const blocked = (...s: string[]) => s.map((x) => parsePrefix(x)!);
const find = (ps: string[], family: 4 | 6, len: number | undefined, block: string[]) => {
  const found = findFreeSubnet(pools(...ps), family, len, blocked(...block));
  return found && formatPrefix(found);
};

describe('default pools', () => {
  it('parses BASE:SIZE and refuses what does not fit, naming the entry', () => {
    expect(formatDefaultPool(parseDefaultPool('10.128.0.0/9:24'))).toBe('10.128.0.0/9:24');
    expect(formatDefaultPool(parseDefaultPool('fd00::/8:64'))).toBe('fd00::/8:64');
    for (const bad of ['10.128.0.0/9', '10.128.0.1/9:24', '10.0.0.0/16:8', '10.0.0.0/8:33', 'x:24', 'fd00::/8:129']) {
      expect(() => parseDefaultPool(bad)).toThrow(InvalidRequestError);
      expect(() => parseDefaultPool(bad)).toThrow(bad);
    }
  });

  it('takes the first free subnet in list order, jumping over pools and routes', () => {
    expect(find(['10.0.0.0/8:24'], 4, undefined, [])).toBe('10.0.0.0/24');
    expect(find(['10.0.0.0/8:24'], 4, undefined, ['10.0.0.0/16', '10.1.0.0/24', '10.1.1.7/32'])).toBe('10.1.2.0/24');
    expect(find(['10.0.0.0/30:31'], 4, undefined, ['10.0.0.0/31', '10.0.0.2/31'])).toBeUndefined();
    expect(find(['172.17.0.0/16:16', '192.168.0.0/16:20'], 4, undefined, ['172.17.5.0/24'])).toBe('192.168.0.0/20');
    // A blocker bigger than the whole pool.
    expect(find(['10.0.0.0/8:24', '192.168.0.0/16:20'], 4, undefined, ['0.0.0.0/1'])).toBe('192.168.0.0/20');
  });

  it('honours a requested prefix length (Engine 29 "0.0.0.0/24") and skips pools too small for it', () => {
    expect(find(['172.17.0.0/16:16', '10.0.0.0/8:24'], 4, 24, ['172.17.0.0/24'])).toBe('172.17.1.0/24');
    expect(find(['172.17.0.0/16:16', '10.0.0.0/8:24'], 4, 12, [])).toBe('10.0.0.0/12');
    expect(find(['172.17.0.0/16:16'], 4, 8, [])).toBeUndefined();
  });

  it('finds an IPv6 /64 past many blockers without scanning the space', () => {
    const block = Array.from({ length: 1000 }, (_, i) => `fd00:0:0:${i.toString(16)}::/64`);
    expect(find(['fd00::/8:64'], 6, undefined, block)).toBe('fd00:0:0:3e8::/64');
    expect(find(['fd00::/8:64', '10.0.0.0/8:24'], 4, undefined, [])).toBe('10.0.0.0/24');
  });

  it('derives a stable ULA /48 split into /64s from the host identity', () => {
    const a = ulaDefaultPool('host-a');
    expect(ulaDefaultPool('host-a')).toEqual(a);
    expect(ulaDefaultPool('host-b')).not.toEqual(a);
    expect(formatDefaultPool(a)).toMatch(/^fd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}::\/48:64$/);
  });

  it('resolves "docker" and keeps the defaults of a family the list does not mention', () => {
    const docker = pools('172.17.0.0/16:16', 'fd12::/48:64');
    expect(resolveDefaultPools(['10.128.0.0/9:24'], docker).map(formatDefaultPool)).toEqual(['10.128.0.0/9:24', 'fd12::/48:64']);
    expect(resolveDefaultPools(['10.128.0.0/9:24', 'docker'], docker).map(formatDefaultPool)).toEqual(['10.128.0.0/9:24', '172.17.0.0/16:16', 'fd12::/48:64']);
    expect(resolveDefaultPools(['fd00::/8:56'], docker).map(formatDefaultPool)).toEqual(['fd00::/8:56', '172.17.0.0/16:16']);
  });
});
