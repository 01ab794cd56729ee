import { describe, expect, it } from 'vitest';
import { consolidateIpam, isV6Config } from './ipam-config.js';
import { refusal } from '../../testing/refusal.js';

const flags = (o: Partial<Parameters<typeof consolidateIpam>[0]>) => ({ subnets: [], ranges: [], gateways: [], auxAddresses: [], ...o });

describe('consolidateIpam', () => {
  it('groups ranges, gateways and aux addresses under their subnet, in order', () => {
    expect(
      consolidateIpam(flags({ subnets: ['10.1.0.0/16', 'fd00:1::/64'], ranges: ['10.1.2.0/24'], gateways: ['fd00:1::1', '10.1.0.1'], auxAddresses: ['r=10.1.0.2', 's=fd00:1::2'] })),
    ).toEqual([
      { Subnet: '10.1.0.0/16', IPRange: '10.1.2.0/24', Gateway: '10.1.0.1', AuxiliaryAddresses: { r: '10.1.0.2' } },
      { Subnet: 'fd00:1::/64', Gateway: 'fd00:1::1', AuxiliaryAddresses: { s: 'fd00:1::2' } },
    ]);
  });

  it('refuses with the docker CLI’s messages', () => {
    expect(() => consolidateIpam(flags({ gateways: ['10.0.0.1'] }))).toThrow(refusal('ERR_INVALID_ARGUMENT', 'every ip-range or gateway must have a corresponding subnet'));
    expect(() => consolidateIpam(flags({ subnets: ['10.0.0.0/8', '10.1.0.0/16'] }))).toThrow(refusal('ERR_INVALID_ARGUMENT', 'multiple overlapping subnet configuration is not supported'));
    expect(() => consolidateIpam(flags({ subnets: ['10.0.0.0/24'], gateways: ['10.9.0.1'] }))).toThrow(refusal('ERR_INVALID_ARGUMENT', 'no matching subnet for gateway 10.9.0.1'));
    expect(() => consolidateIpam(flags({ subnets: ['10.0.0.0/24', '10.0.1.0/24'], ranges: ['10.0.0.0/25', '10.0.0.128/25'] }))).toThrow(
      refusal('ERR_INVALID_ARGUMENT', 'cannot configure multiple ranges (10.0.0.0/25, 10.0.0.128/25) on the same subnet (10.0.0.0/24)'),
    );
    expect(() => consolidateIpam(flags({ subnets: ['10.0.0.0/24'], auxAddresses: ['x=10.5.0.1'] }))).toThrow(refusal('ERR_INVALID_ARGUMENT', 'no matching subnet for aux-address 10.5.0.1'));
    expect(() => consolidateIpam(flags({ subnets: ['10.0.0.0/33'] }))).toThrow(refusal('ERR_INVALID_ARGUMENT', 'invalid --subnet'));
  });

  it('tells IPv6 configs from IPv4 ones', () => {
    expect(isV6Config({ Subnet: 'fd00::/64' })).toBe(true);
    expect(isV6Config({ Subnet: '10.0.0.0/8' })).toBe(false);
  });
});
