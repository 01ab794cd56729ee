import { describe, expect, it } from 'vitest';
import { IFNAME_MAX_BYTES } from '../../../common/kernel/link-types.js';
import { childName, isMacvlanModeLink, macvlanTag, shimName, vlanName } from './names.js';

const ID = '3f2a9c01b7d4e5f60718293a4b5c6d7e8f9012345678901234567890abcdef12';

describe('macvlan link names', () => {
  it('carry the instance tag and fill the 15 bytes Linux allows from the ID', () => {
    expect(childName('beef', ID)).toBe('tsmvbeef3f2a9c0');
    expect(shimName('beef', ID)).toBe('tsmvhbeef3f2a9c');
    for (const n of [childName('beef', ID), shimName('beef', ID), vlanName('beef', 'eth1', 10)]) expect(Buffer.byteLength(n)).toBe(IFNAME_MAX_BYTES);
  });

  it('take the tag from the first 4 hex digits of the instance tag', () => {
    expect(macvlanTag('beef42')).toBe('beef');
    expect(() => macvlanTag('xyz123')).toThrow(RangeError);
  });

  it('give one VLAN link per IFACE.VID, whichever network asks', () => {
    expect(vlanName('beef', 'eth1', 10)).toBe(vlanName('beef', 'eth1', 10));
    expect(vlanName('beef', 'eth1', 10)).not.toBe(vlanName('beef', 'eth1', 11));
    expect(vlanName('beef', 'eth1', 10)).toMatch(/^tsmvlbeef[0-9a-f]{6}$/);
  });

  it('recognise exactly the shapes the mode makes, and the tag when asked', () => {
    const ours = [childName('beef', ID), shimName('beef', ID), vlanName('beef', 'eth2', 7)];
    for (const n of ours) expect([isMacvlanModeLink(n), isMacvlanModeLink(n, 'beef'), isMacvlanModeLink(n, 'cafe')]).toEqual([true, true, false]);
    for (const n of ['tsmvp1a2b3c', 'tsmv3f2a', 'tsbr-3f2a9c01b7', 'eth0', 'tsmvxbeef3f2a9c']) expect(isMacvlanModeLink(n)).toBe(false);
  });
});
