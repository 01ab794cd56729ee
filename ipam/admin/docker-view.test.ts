import { describe, expect, it } from 'vitest';
import { knownUseOf } from './docker-view.js';

describe('knownUseOf (docker network inspect)', () => {
  it('collects subnets, gateways, aux and container addresses without prefix lengths', () => {
    const use = knownUseOf([
      {
        IPAM: { Config: [{ Subnet: '10.20.0.0/24', Gateway: '10.20.0.1', AuxiliaryAddresses: { r: '10.20.0.2' } }, { Subnet: 'fd00::/64' }] },
        Containers: { abc: { IPv4Address: '10.20.0.3/24', IPv6Address: 'fd00::3/64' }, def: { IPv4Address: '', IPv6Address: '' } },
      },
      { IPAM: { Config: null }, Containers: null },
      {},
    ]);
    expect(use).toEqual({ subnets: ['10.20.0.0/24', 'fd00::/64'], addresses: ['10.20.0.1', '10.20.0.2', '10.20.0.3', 'fd00::3'] });
  });
});
