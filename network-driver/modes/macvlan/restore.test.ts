/** Start-up recovery through the real driver over a fake kernel (a plugin restart with the same store). */
import { beforeEach, describe, expect, it } from 'vitest';
import { id, macvlanFixture, TAG } from '../testing/fixture-macvlan-driver.js';
import { childName, shimName, vlanName } from './names.js';
import { refusal } from '../../../testing/refusal.js';

const NET = id('a');
let f: ReturnType<typeof macvlanFixture>;
beforeEach(() => {
  f = macvlanFixture();
});

describe('macvlan restore', () => {
  it('remakes shims, their addresses and host routes, and prunes routes no endpoint owns', async () => {
    await f.createNetwork({ parent: 'p0', host_access: 'true' });
    await f.createEndpoint(NET, id('e'));
    await f.kernel.deleteLink(shimName(TAG, NET)); // a reboot, or someone, removed it
    f.kernel.links.set(shimName(TAG, NET), { ...f.kernel.links.get('p0')!, name: shimName(TAG, NET), kind: 'macvlan', parent: 'p0', macvlanMode: 'bridge' });
    await f.kernel.ensureRoute({ dst: '10.9.8.77/32', dev: shimName(TAG, NET) });
    await f.restart().restore();
    expect([...f.kernel.addresses.get(shimName(TAG, NET))!]).toEqual(['10.9.8.254/32']);
    expect(f.kernel.routes.map((r) => r.dst)).toEqual(['10.9.8.5/32']);
  });

  it('deletes its own macvlan links no record owns, keeping owned ones and other instances\' and foreign links', async () => {
    await f.createNetwork({ parent: 'p0' });
    await f.createEndpoint(NET, id('e'));
    const stray = [childName(TAG, id('d')), shimName(TAG, id('d')), vlanName(TAG, 'p0', 5)];
    const kept = [childName('cafe', id('d')), shimName('cafe', id('d')), 'tsmvp1a2b3c'];
    for (const name of [...stray, ...kept]) f.kernel.addDevice(name, { kind: 'macvlan', parent: 'p0' });
    await f.restart().restore();
    // Another instance's links (tag cafe) and a test's parent (not a shape of this mode) stay.
    expect(f.linkNames()).toEqual(['p0', childName(TAG, id('e')), ...kept].sort());
  });

  it('remakes the VLAN sub-interface and the sharing rules it restored', async () => {
    f.kernel.vlanSupported = true;
    await f.createNetwork({ parent: 'p0.10' });
    await f.createNetwork({ parent: 'p0', macvlan_mode: 'passthru' }, { id: id('b') });
    await f.kernel.deleteLink(vlanName(TAG, 'p0', 10));
    await f.restart().restore();
    expect(f.linkNames()).toContain(vlanName(TAG, 'p0', 10));
    await expect(f.createNetwork({ parent: 'p0' }, { id: id('c') })).rejects.toThrow(refusal('ERR_CONFLICT', /held by passthru network bbbbbbbbbbbb/));
  });

  it('logs a network whose parent is gone and goes on with the others', async () => {
    f.kernel.addDevice('p1');
    await f.createNetwork({ parent: 'p1', host_access: 'true' });
    await f.createNetwork({ parent: 'p0', host_access: 'true' }, { id: id('b') });
    await f.kernel.deleteLink('p1');
    await f.restart().restore();
    expect(f.logText()).toMatch(/"msg":"macvlan network not restored".*"parent":"p1".*parent interface \\"p1\\" does not exist/);
    expect(f.linkNames()).toEqual(['p0', shimName(TAG, id('b'))]);
    await expect(f.createEndpoint(NET, id('e'))).rejects.toThrow(refusal('ERR_INVALID_REQUEST', /parent interface "p1" does not exist/));
  });
});
