import { describe, expect, it } from 'vitest';
import type { NetworkRecord } from '../../records.js';
import { endpointIps, gatewaysOf, hostRoute, macFromAddress, shimAddresses } from './addressing.js';
import { refusal } from '../../../testing/refusal.js';

function net(over: Partial<NetworkRecord> = {}): NetworkRecord {
  return {
    v: 2,
    id: 'n1',
    mode: 'macvlan',
    options: {},
    config: { v: 1 },
    internal: false,
    enableIpv6: true,
    ipv4: [{ AddressSpace: '', Pool: '10.9.8.0/24', Gateway: '10.9.8.1/24', AuxAddresses: {} }],
    ipv6: [{ AddressSpace: '', Pool: 'fd00:9::/64', Gateway: 'fd00:9::1/64', AuxAddresses: {} }],
    createdAt: '',
    ...over,
  };
}

describe('macvlan addressing', () => {
  it('takes the gateways (the LAN router) from IPAM data', () => {
    expect(gatewaysOf(net())).toEqual({ v4: '10.9.8.1', v6: 'fd00:9::1' });
    expect(gatewaysOf(net({ ipv4: [{ AddressSpace: '', Pool: '10.9.8.0/24', Gateway: '', AuxAddresses: {} }], ipv6: [] }))).toEqual({});
  });

  it('derives the MAC from the first address and routes one address at a time', () => {
    expect(macFromAddress({ address: '10.9.8.5/24', addressIpv6: 'fd00:9::5/64' })).toBe('02:42:0a:09:08:05');
    expect(macFromAddress({ address: '', addressIpv6: 'fd00:9::a:b/64' })).toBe('02:42:00:0a:00:0b');
    expect(macFromAddress({ address: '', addressIpv6: '' })).toBeUndefined();
    expect(endpointIps({ address: '10.9.8.5/24', addressIpv6: 'fd00:9::5/64' })).toEqual(['10.9.8.5', 'fd00:9::5']);
    expect([hostRoute('10.9.8.5'), hostRoute('fd00:9::5')]).toEqual(['10.9.8.5/32', 'fd00:9::5/128']);
  });

  it('gives the shim the explicit host_address, else the aux address "host", else the top of the subnet', () => {
    expect(shimAddresses(net(), { hostAddresses: ['10.9.8.77'] })).toEqual(['10.9.8.77', 'fd00:9::ffff:ffff:ffff:ffff']);
    const aux = net({ ipv4: [{ AddressSpace: '', Pool: '10.9.8.0/24', Gateway: '10.9.8.1/24', AuxAddresses: { host: '10.9.8.200/24' } }] });
    expect(shimAddresses(aux, { hostAddresses: [] })[0]).toBe('10.9.8.200');
    const top = net({ ipv4: [{ AddressSpace: '', Pool: '10.9.8.0/24', Gateway: '10.9.8.254/24', AuxAddresses: { r: '10.9.8.253/24' } }], ipv6: [] });
    expect(shimAddresses(top, { hostAddresses: [] })).toEqual(['10.9.8.252']);
  });

  it('refuses a host address outside the subnets, of a missing family, or that is the gateway or broadcast', () => {
    const v4only = net({ ipv6: [] });
    expect(() => shimAddresses(v4only, { hostAddresses: ['10.9.9.5'] })).toThrow(refusal('ERR_INVALID_REQUEST', /host_address 10.9.9.5 is in no subnet of this network \(10.9.8.0\/24\)/));
    expect(() => shimAddresses(v4only, { hostAddresses: ['fd00:9::5'] })).toThrow(refusal('ERR_INVALID_REQUEST', /is IPv6, but the network has no IPv6 subnet/));
    expect(() => shimAddresses(v4only, { hostAddresses: ['10.9.8.1'] })).toThrow(refusal('ERR_INVALID_REQUEST', /is the gateway/));
    expect(() => shimAddresses(v4only, { hostAddresses: ['10.9.8.255'] })).toThrow(refusal('ERR_INVALID_REQUEST', /network or broadcast address of 10.9.8.0\/24/));
    const tiny = net({ ipv4: [{ AddressSpace: '', Pool: '10.9.8.0/31', Gateway: '', AuxAddresses: {} }], ipv6: [] });
    expect(() => shimAddresses(tiny, { hostAddresses: [] })).toThrow(refusal('ERR_INVALID_REQUEST', /cannot derive a host shim address in 10.9.8.0\/31/));
  });
});
