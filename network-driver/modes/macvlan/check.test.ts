/**
 * @module Unit tests of `tsnet doctor` for macvlan mode through the real driver over the recording fake
 * kernel: a joined child is looked for inside its container, a missing child, shim, shim address, host
 * route or parent is named, an unowned `tsmv…` link too, and repair makes the check clean again with
 * the child re-made inside its container.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { id, macvlanFixture, TAG } from '../testing/fixture-macvlan-driver.js';
import { childName, shimName } from './names.js';

const NET = id('a');
const EP = id('e');
const SANDBOX = '/var/run/docker/netns/x';
const CHILD = childName(TAG, EP);
const SHIM = shimName(TAG, NET);
let f: ReturnType<typeof macvlanFixture>;

/** What dockerd does after Join: moves the child into the container as eth0. */
function dockerMovesChild(): void {
  const link = f.kernel.links.get(CHILD)!;
  f.kernel.links.delete(CHILD);
  f.kernel.sandboxes.set(SANDBOX, [{ ...link, name: 'eth0', up: true }]);
}

const findings = async () => (await f.driver.check()).map((x) => `${x.Object} | ${x.Expected} | ${x.Found}${x.Fixable ? '' : ' | not fixable'}`);

beforeEach(async () => {
  f = macvlanFixture();
  await f.createNetwork({ parent: 'p0', host_access: 'true' });
  await f.createEndpoint(NET, EP);
  await f.join(NET, EP);
  dockerMovesChild();
});

describe('macvlan doctor', () => {
  it('finds nothing when the child is in its container and the shim has its address and routes', async () => {
    expect(await findings()).toEqual([]);
    expect(f.kernel.calls).toContain(`sandboxLinks ${SANDBOX}`);
  });

  it('names a child deleted inside its container, a lost shim address and route, and an unowned link', async () => {
    f.kernel.sandboxes.set(SANDBOX, []);
    f.kernel.addresses.set(SHIM, []);
    f.kernel.routes = [];
    f.kernel.addDevice(childName(TAG, id('d')), { kind: 'macvlan', parent: 'p0' });
    expect(await findings()).toEqual([
      `host shim ${SHIM} of network aaaaaaaaaaaa | address 10.9.8.254/32 | no addresses`,
      `host route 10.9.8.5/32 (endpoint eeeeeeeeeeee) | via ${SHIM} | missing`,
      `macvlan child ${CHILD} of endpoint eeeeeeeeeeee (network aaaaaaaaaaaa) | a bridge-mode macvlan on p0 with MAC 02:42:0a:09:08:05 inside container ${SANDBOX} | no macvlan interface there`,
      `macvlan ${childName(TAG, id('d'))} | absent (no record owns it) | present on p0`,
    ]);
  });

  it('names a deleted shim, and a parent that went down (not fixable: it is the host\'s)', async () => {
    await f.kernel.deleteLink(SHIM);
    f.kernel.links.get('p0')!.up = false;
    expect(await findings()).toEqual([
      'parent p0 of network aaaaaaaaaaaa | an interface that exists and is up | parent "p0" is down; bring it up first (ip link set p0 up) | not fixable',
      `host shim ${SHIM} of network aaaaaaaaaaaa | a bridge-mode macvlan on p0 | no such link`,
    ]);
  });

  it('repair re-makes the child inside its container, the shim and its routes, removes the unowned link, then checks clean', async () => {
    f.kernel.sandboxes.set(SANDBOX, []);
    await f.kernel.deleteLink(SHIM);
    f.kernel.addDevice(childName(TAG, id('d')), { kind: 'macvlan', parent: 'p0' });
    await f.driver.repair();
    expect(await findings()).toEqual([]);
    const inside = f.kernel.sandboxes.get(SANDBOX)!;
    expect(inside.map((l) => [l.name, l.kind, l.mac])).toEqual([['eth0', 'macvlan', '02:42:0a:09:08:05']]);
    expect(f.kernel.calls).toContainEqual(expect.stringMatching(new RegExp(`^plugIntoSandbox ${SANDBOX} ${CHILD} .*"addresses":\\["10.9.8.5/24"\\],"gateway4":"10.9.8.1"`)));
  });

  it('leaves an endpoint whose container is gone to Docker (no finding, nothing re-made)', async () => {
    f.kernel.sandboxes.delete(SANDBOX);
    expect(await findings()).toEqual([]);
    await f.driver.repair();
    expect(f.kernel.plugged).toEqual([]);
  });
});
