import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../../common/protocol/errors.js';
import { normaliseMacvlanOptions, parseMacvlanOptions } from './options.js';
import { refusal } from '../../../testing/refusal.js';

describe('macvlan options', () => {
  it('needs a parent and defaults to bridge mode without host access', () => {
    expect(parseMacvlanOptions({ parent: 'eth1' })).toEqual({ v: 1, parent: 'eth1', mode: 'bridge', hostAccess: false, hostAddresses: [] });
    expect(() => parseMacvlanOptions({})).toThrow(refusal('ERR_INVALID_REQUEST', /option "parent" is required for mode macvlan/));
    expect(() => parseMacvlanOptions({ parent: 'a/b' })).toThrow(InvalidRequestError);
    expect(() => parseMacvlanOptions({ parent: 'much-too-long-name' })).toThrow(refusal('ERR_INVALID_REQUEST', /interface name of 1 to 15/));
  });

  it('accepts the four Docker modes and names the bad one', () => {
    for (const m of ['bridge', 'private', 'vepa', 'passthru']) expect(parseMacvlanOptions({ parent: 'eth1', macvlan_mode: m }).mode).toBe(m);
    expect(() => parseMacvlanOptions({ parent: 'eth1', macvlan_mode: 'source' })).toThrow(refusal('ERR_INVALID_REQUEST', /"macvlan_mode" must be one of bridge, private, vepa, passthru, got "source"/));
  });

  it('reads IFACE.VID as a VLAN request with an id from 1 to 4094', () => {
    expect(parseMacvlanOptions({ parent: 'eth1.10' }).vlan).toEqual({ base: 'eth1', vid: 10 });
    expect(parseMacvlanOptions({ parent: 'br.lan' }).vlan).toBeUndefined();
    expect(() => parseMacvlanOptions({ parent: 'eth1.4095' })).toThrow(refusal('ERR_INVALID_REQUEST', /VLAN id of "eth1.4095" must be 1 to 4094/));
    expect(() => parseMacvlanOptions({ parent: 'eth1.0' })).toThrow(refusal('ERR_INVALID_REQUEST', /must be 1 to 4094/));
  });

  it('allows host access only in bridge mode, and host_address only with it', () => {
    const c = parseMacvlanOptions({ parent: 'eth1', host_access: 'true', host_address: '10.0.0.9, FD00:0::9' });
    expect(c).toMatchObject({ hostAccess: true, hostAddresses: ['10.0.0.9', 'fd00::9'] });
    expect(() => parseMacvlanOptions({ parent: 'eth1', host_access: 'true', macvlan_mode: 'private' })).toThrow(refusal('ERR_INVALID_REQUEST', /needs macvlan_mode=bridge/));
    expect(() => parseMacvlanOptions({ parent: 'eth1', host_address: '10.0.0.9' })).toThrow(refusal('ERR_INVALID_REQUEST', /only used with host_access=true/));
    expect(() => parseMacvlanOptions({ parent: 'eth1', host_access: 'yes' })).toThrow(refusal('ERR_INVALID_REQUEST', /"host_access" must be true or false/));
    expect(() => parseMacvlanOptions({ parent: 'eth1', host_access: '1', host_address: '10.0.0.9,10.0.0.8' })).toThrow(refusal('ERR_INVALID_REQUEST', /more than one IPv4/));
    expect(() => parseMacvlanOptions({ parent: 'eth1', host_access: '1', host_address: 'router' })).toThrow(refusal('ERR_INVALID_REQUEST', /"router" is not an IP address/));
  });

  it('refuses unknown options, listing the valid ones', () => {
    expect(() => parseMacvlanOptions({ parent: 'eth1', mtu: '1400' })).toThrow(refusal('ERR_INVALID_REQUEST', /unknown option "mtu" for mode macvlan; valid options: parent; macvlan_mode; host_access; host_address/));
  });

  it('stores every setting spelled out, and reads its own output the same way', () => {
    const stored = normaliseMacvlanOptions({ parent: 'eth1', host_access: 'T' });
    expect(stored).toEqual({ parent: 'eth1', macvlan_mode: 'bridge', host_access: 'true' });
    expect(normaliseMacvlanOptions(stored)).toEqual(stored);
    const withAddress = normaliseMacvlanOptions({ parent: 'eth1', host_access: 'true', host_address: 'fd00::0:9' });
    expect(parseMacvlanOptions(withAddress).hostAddresses).toEqual(['fd00::9']);
  });
});
