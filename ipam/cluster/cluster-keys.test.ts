import { describe, expect, it } from 'vitest';
import { clusterKeys, clusterName, definitionDifferences, definitionOf, isClusterPool, parseAddressRecord, parseDefinition } from './cluster-keys.js';
import type { PoolRecord } from '../core/persistence.js';

const record = (over: Partial<PoolRecord> = {}): PoolRecord => ({
  v: 1,
  id: 'LocalDefault/10.20.0.0/24',
  space: 'LocalDefault',
  pool: '10.20.0.0/24',
  options: { cluster: 'true' },
  auto: false,
  createdAt: '2026-01-01T00:00:00.000Z',
  ...over,
});

describe('cluster pool keys', () => {
  it('names a pool by space and subnet, whatever its sub-pool, with prefixes that cover no other pool', () => {
    expect(clusterName('LocalDefault/10.20.0.0/24/10.20.0.128/25')).toBe('LocalDefault/10.20.0.0/24');
    expect(clusterName('GlobalDefault/fd00:1::/64')).toBe('GlobalDefault/fd00:1::/64');
    const k = clusterKeys('LocalDefault/10.20.0.0/2');
    expect(k).toEqual({
      pool: '/tsnet/v1/ipam/pools/LocalDefault/10.20.0.0/2',
      users: '/tsnet/v1/ipam/users/LocalDefault/10.20.0.0/2/',
      addresses: '/tsnet/v1/ipam/addresses/LocalDefault/10.20.0.0/2/',
    });
    expect(clusterKeys('LocalDefault/10.20.0.0/24').addresses.startsWith(k.addresses)).toBe(false);
  });

  it('tells cluster pools by their option', () => {
    expect(isClusterPool(record())).toBe(true);
    expect(isClusterPool(record({ options: { cluster: 'false' } }))).toBe(false);
    expect(isClusterPool(record({ options: {} }))).toBe(false);
  });
});

describe('cluster pool definitions', () => {
  it('are alike whoever created them and when', () => {
    const a = definitionOf(record(), 'host-a');
    const b = definitionOf(record({ createdAt: '2027-01-01T00:00:00.000Z' }), 'host-b');
    expect(definitionDifferences(a, b)).toEqual([]);
    expect(parseDefinition(JSON.stringify(a))).toEqual(a);
    expect(parseDefinition('{nope')).toBeUndefined();
  });

  it('name each difference: the sub-pool and every option', () => {
    const has = definitionOf(record({ subPool: '10.20.0.128/25', options: { cluster: 'true', 'com.docker.network.ipam.serial': 'false' } }), 'a');
    const want = definitionOf(record({ options: { cluster: 'true', colour: 'blue' } }), 'b');
    expect(definitionDifferences(has, want)).toEqual([
      'ip-range (sub-pool): cluster has 10.20.0.128/25, this host asked for none',
      'ipam option colour: cluster has none, this host asked for "blue"',
      'ipam option com.docker.network.ipam.serial: cluster has "false", this host asked for none',
    ]);
  });
});

describe('address records', () => {
  it('parse, or are undefined when unreadable', () => {
    const rec = { v: 1, poolId: 'p', address: '10.20.0.2', kind: 'endpoint', host: 'h', at: 't' };
    expect(parseAddressRecord(JSON.stringify(rec))).toEqual(rec);
    expect(parseAddressRecord('[]')).toBeUndefined();
    expect(parseAddressRecord('')).toBeUndefined();
  });
});
