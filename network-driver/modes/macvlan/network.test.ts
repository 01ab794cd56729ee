/**
 * Network phase through the real driver over a fake kernel: parent checks, sharing rules, VLAN
 * parents, and that a refused network leaves nothing behind.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, InvalidRequestError, UnsupportedError } from '../../../common/protocol/errors.js';
import { id, macvlanFixture, TAG } from '../testing/fixture-macvlan-driver.js';
import { vlanName } from './names.js';
import { refusal } from '../../../testing/refusal.js';

let f: ReturnType<typeof macvlanFixture>;
beforeEach(() => {
  f = macvlanFixture();
});

describe('macvlan network: the parent', () => {
  it('stores a network on an existing, up parent and makes no link for it', async () => {
    await f.createNetwork({ parent: 'p0' });
    const [[, rec] = []] = await f.networks();
    expect(rec?.options).toEqual({ parent: 'p0', macvlan_mode: 'bridge', host_access: 'false' });
    expect(f.linkNames()).toEqual(['p0']);
  });

  it('refuses a missing, down, loopback, tsnet-bridge or tsnet-made parent, storing and making nothing', async () => {
    f.kernel.addDevice('p1', { up: false });
    f.kernel.addDevice('lo', { kind: 'loopback' });
    f.kernel.addDevice('tsbr-0123456789', { kind: 'bridge' });
    f.kernel.addDevice('tsmv0123456789a', { kind: 'macvlan', parent: 'p0' });
    const cases: Array<[string, RegExp]> = [
      ['eth9', /parent interface "eth9" does not exist/],
      ['p1', /parent "p1" is down; bring it up first \(ip link set p1 up\)/],
      ['lo', /parent "lo" is the loopback interface/],
      ['tsbr-0123456789', /parent "tsbr-0123456789" is a tsnet bridge/],
      ['tsmv0123456789a', /is a link tsnet's macvlan mode made/],
    ];
    for (const [parent, message] of cases) {
      const err = await f.createNetwork({ parent }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidRequestError);
      expect((err as Error).message).toMatch(message);
    }
    expect(await f.networks()).toEqual([]);
    expect(f.kernel.changes()).toEqual([]);
  });

  it('refuses an invalid mode before looking at the kernel', async () => {
    await expect(f.createNetwork({ parent: 'p0', macvlan_mode: 'loud' })).rejects.toThrow(refusal('ERR_INVALID_REQUEST', /"macvlan_mode" must be one of/));
    expect(await f.networks()).toEqual([]);
  });
});

describe('macvlan network: sharing a parent', () => {
  it('lets several bridge, private and vepa networks share a parent', async () => {
    await f.createNetwork({ parent: 'p0' }, { id: id('a') });
    await f.createNetwork({ parent: 'p0', macvlan_mode: 'private' }, { id: id('b') });
    await f.createNetwork({ parent: 'p0', macvlan_mode: 'vepa' }, { id: id('c') });
    expect(await f.networks()).toHaveLength(3);
  });

  it('gives passthru its parent alone, both ways, and frees it when the network goes', async () => {
    await f.createNetwork({ parent: 'p0' }, { id: id('a') });
    const err = await f.createNetwork({ parent: 'p0', macvlan_mode: 'passthru' }, { id: id('b') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as Error).message).toMatch(/parent "p0" is already used by network aaaaaaaaaaaa \(bridge\); passthru needs the parent to itself/);
    await f.driver.deleteNetwork({ NetworkID: id('a') });
    await f.createNetwork({ parent: 'p0', macvlan_mode: 'passthru' }, { id: id('b') });
    await expect(f.createNetwork({ parent: 'p0' }, { id: id('c') })).rejects.toThrow(refusal('ERR_CONFLICT', /parent "p0" is held by passthru network bbbbbbbbbbbb/));
    // A replay of the passthru network's own create is not a conflict with itself.
    await f.createNetwork({ parent: 'p0', macvlan_mode: 'passthru' }, { id: id('b') });
  });

  it('decides concurrent creates on one parent one at a time: passthru and another never both win', async () => {
    const results = await Promise.allSettled([
      f.createNetwork({ parent: 'p0', macvlan_mode: 'passthru' }, { id: id('a') }),
      f.createNetwork({ parent: 'p0' }, { id: id('b') }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
    expect(await f.networks()).toHaveLength(1);
  });

  it('refuses passthru on a parent that carries macvlans tsnet does not know of', async () => {
    f.kernel.addDevice('dockermv', { kind: 'macvlan', parent: 'p0', macvlanMode: 'bridge' });
    await expect(f.createNetwork({ parent: 'p0', macvlan_mode: 'passthru' })).rejects.toThrow(refusal('ERR_CONFLICT', /parent "p0" already carries macvlan interfaces \(dockermv\)/));
    expect(await f.networks()).toEqual([]);
  });
});

describe('macvlan network: parent=IFACE.VLAN', () => {
  it('refuses clearly when the kernel has no 802.1Q support, leaving nothing', async () => {
    const err = await f.createNetwork({ parent: 'p0.10' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedError);
    expect((err as Error).message).toMatch(/parent "p0.10" asks for VLAN 10 on "p0", but this kernel has no 802.1Q VLAN support \(module 8021q\)/);
    expect(f.linkNames()).toEqual(['p0']);
    expect(await f.networks()).toEqual([]);
  });

  it('makes one VLAN link per IFACE.VID, shared, and removes it with its last network', async () => {
    f.kernel.vlanSupported = true;
    const vlan = vlanName(TAG, 'p0', 10);
    await f.createNetwork({ parent: 'p0.10' }, { id: id('a') });
    await f.createNetwork({ parent: 'p0.10' }, { id: id('b') });
    expect(f.kernel.calls.filter((c) => c.startsWith('ensureVlan'))).toEqual([`ensureVlan ${vlan} p0 10 {"up":true}`]);
    await f.driver.deleteNetwork({ NetworkID: id('a') });
    expect(f.linkNames()).toContain(vlan);
    await f.driver.deleteNetwork({ NetworkID: id('b') });
    expect(f.linkNames()).toEqual(['p0']);
  });

  it('uses a link that already has the IFACE.VID name as it is, and never removes it', async () => {
    f.kernel.addDevice('p0.20', { kind: 'vlan' });
    await f.createNetwork({ parent: 'p0.20' });
    await f.driver.deleteNetwork({ NetworkID: id('a') });
    expect(f.linkNames()).toEqual(['p0', 'p0.20']);
    expect(f.kernel.changes()).toEqual([]);
  });

  it('removes a VLAN link it made when the rest of the network fails', async () => {
    f.kernel.vlanSupported = true;
    await expect(f.createNetwork({ parent: 'p0.30', host_access: 'true', host_address: '10.9.8.1' })).rejects.toThrow(refusal('ERR_INVALID_REQUEST', /is the gateway/));
    expect(f.linkNames()).toEqual(['p0']);
  });
});
