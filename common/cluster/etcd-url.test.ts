import { describe, expect, it } from 'vitest';
import { parseClusterStore } from './etcd-url.js';

describe('parseClusterStore', () => {
  it('turns each host:port into an http endpoint, in order', () => {
    expect(parseClusterStore('etcd://10.0.0.1:2379')).toEqual(['http://10.0.0.1:2379']);
    expect(parseClusterStore('etcd://a.example:1,10.0.0.2:22379')).toEqual(['http://a.example:1', 'http://10.0.0.2:22379']);
    expect(parseClusterStore('ETCD://etcd-1:2379/')).toEqual(['http://etcd-1:2379']);
  });

  it('turns etcds:// into https endpoints (etcd with TLS)', () => {
    expect(parseClusterStore('etcds://etcd-1:2379,[fd00::1]')).toEqual(['https://etcd-1:2379', 'https://[fd00::1]:2379']);
    expect(parseClusterStore('ETCDS://10.0.0.1')).toEqual(['https://10.0.0.1:2379']);
  });

  it('takes IPv6 addresses in brackets', () => {
    expect(parseClusterStore('etcd://[fd00::1]:2379,[::1]:3000')).toEqual(['http://[fd00::1]:2379', 'http://[::1]:3000']);
  });

  it('uses etcd port 2379 when none is given', () => {
    expect(parseClusterStore('etcd://10.0.0.1,[::1]')).toEqual(['http://10.0.0.1:2379', 'http://[::1]:2379']);
  });

  it('refuses other schemes', () => {
    expect(() => parseClusterStore('consul://10.0.0.1:8500')).toThrow(/only etcd:\/\/ and etcds:\/\/ are supported/);
    expect(() => parseClusterStore('https://10.0.0.1:2379')).toThrow(/only etcd:\/\/ and etcds:\/\/ are supported/);
    expect(() => parseClusterStore('http://10.0.0.1:2379')).toThrow(/only etcd:\/\/ and etcds:\/\/ are supported/);
    expect(() => parseClusterStore('10.0.0.1:2379')).toThrow(/expected etcd:\/\/host:port/);
  });

  it('names the bad part', () => {
    expect(() => parseClusterStore('etcd://')).toThrow(/empty endpoint/);
    expect(() => parseClusterStore('etcd://a:1,,b:2')).toThrow(/empty endpoint/);
    expect(() => parseClusterStore('etcd://10.0.0.1:99999')).toThrow(/port 99999 is out of range/);
    expect(() => parseClusterStore('etcd://10.0.0.1:0')).toThrow(/port 0 is out of range/);
    expect(() => parseClusterStore('etcd://fd00::1:2379')).toThrow(/IPv6 addresses in brackets/);
    expect(() => parseClusterStore('etcd://[zz::1]:2379')).toThrow(/"zz::1" is not an IPv6 address/);
    expect(() => parseClusterStore('etcd://user@host:2379')).toThrow(/not a host name/);
    expect(() => parseClusterStore('etcd://host:2379/path')).toThrow(/not host:port/);
  });
});
