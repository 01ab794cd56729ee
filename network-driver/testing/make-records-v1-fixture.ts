/**
 * @module Writes the `records-v1/` fixture (see fixture-records-v1.ts) with an OLD build of the suite,
 * loaded in this process: that build's NetworkDriver and modes, bound to a throwaway namespace, make
 * through the driver (as dockerd would) a network of every mode with a joined endpoint; then, in a
 * fresh namespace (a reboot), that build's restore rebuilds the kernel from the state, and what it made
 * is written to `kernel.json`. Only the LevelDB files are kept (not LOG, LOG.old or LOCK).
 *
 * Usage (root), from the repository, with the old build in OLD (made as common/store/testing/fixtures/README.md
 * shows, at cc2cf49):
 * `npx tsc -p . && node dist/network-driver/testing/make-records-v1-fixture.js OLD/dist "$PWD/network-driver/testing/records-v1"`
 */
import { randomBytes } from 'node:crypto';
import { readdir, rm, writeFile } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import { join } from 'node:path';
import { deleteNetns, ensureNetns } from '../../common/kernel/netns.js';
import { FIXTURE, kernelObjects, makeFixtureHost } from './fixture-records-v1.js';

/* The old build's modules, as loaded: their types are that build's, not this one's. */
type Loaded = Record<string, any>;

const [oldDist, out] = process.argv.slice(2);
if (!oldDist || !out) throw new Error('usage: make-records-v1-fixture.js OLD/dist OUT_STATE_DIR');
const load = (path: string): Promise<Loaded> => import(join(oldDist, path));
const driverMod = await load('network-driver/driver.js');
const bridge = await load('network-driver/modes/bridge/bridge-mode.js');
const bridgeKernel = await load('network-driver/modes/bridge/kernel.js');
const overlay = await load('network-driver/modes/overlay/overlay-mode.js');
const overlayKernel = await load('network-driver/modes/overlay/kernel.js');
const macvlan = await load('network-driver/modes/macvlan/macvlan-mode.js');
const none = await load('network-driver/modes/none/none-mode.js');
const level = await load('common/store/level-store.js');
const format = await load('common/store/format.js');
const logMod = await load('common/log.js');
const api = await load('common/protocol/network-api.js');
const log = logMod.createLogger({ stream: new PassThrough() });
const db = join(out, 'network', 'db');

/** The old build's driver over the fixture's store, its modes acting in `netns`. */
async function oldDriver(netns: string): Promise<{ driver: Loaded; close: () => Promise<void> }> {
  const store = await level.LevelStore.open(db);
  await format.migrateStore(store, { what: 'fixture', log });
  const modes = [
    none.noneMode,
    bridge.createBridgeMode({ kernel: bridgeKernel.hostBridgeKernel({ netns }), tag: FIXTURE.tag, log }),
    overlay.createOverlayMode({ kernel: overlayKernel.hostOverlayKernel({ netns }), tag: FIXTURE.tag, log }),
    macvlan.createMacvlanMode({ log, instanceTag: FIXTURE.tag, netns }),
  ];
  const driver = new driverMod.NetworkDriver({ modes, store, log, ipv6Disabled: async () => undefined });
  return { driver, close: () => store.close() };
}

async function inFreshNetns(fn: (netns: string) => Promise<void>): Promise<void> {
  const netns = `tstest-${randomBytes(4).toString('hex')}`;
  await ensureNetns(netns);
  try {
    await makeFixtureHost(netns);
    await fn(netns);
  } finally {
    await deleteNetns(netns);
  }
}

await inFreshNetns(async (netns) => {
  const { driver, close } = await oldDriver(netns);
  try {
    for (const { id, subnet, options } of Object.values(FIXTURE.networks)) {
      const { mode, ...generic } = options;
      await driver.createNetwork(
        api.networkRequests.CreateNetwork.parse({
          NetworkID: id,
          Options: { 'com.docker.network.generic': { mode, ...generic } },
          IPv4Data: [{ AddressSpace: 'LocalDefault', Pool: subnet, Gateway: FIXTURE.gatewayOf(subnet) }],
          IPv6Data: [],
        }),
      );
      const EndpointID = FIXTURE.endpointOf(id);
      await driver.createEndpoint(
        api.networkRequests.CreateEndpoint.parse({ NetworkID: id, EndpointID, Interface: { Address: FIXTURE.addressOf(subnet), AddressIPv6: '', MacAddress: '' } }),
      );
      await driver.join(api.networkRequests.Join.parse({ NetworkID: id, EndpointID, SandboxKey: FIXTURE.sandboxKey, Options: {} }));
    }
  } finally {
    driver.close();
    await close();
  }
});

await inFreshNetns(async (netns) => {
  const { driver, close } = await oldDriver(netns);
  try {
    await driver.restore();
    await writeFile(join(out, 'kernel.json'), `${JSON.stringify(await kernelObjects(netns), null, 2)}\n`);
  } finally {
    driver.close();
    await close();
  }
});

for (const f of await readdir(db)) if (f === 'LOG' || f === 'LOG.old' || f === 'LOCK') await rm(join(db, f));
