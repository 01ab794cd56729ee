/**
 * Upgrades keep the kernel side: a COPY of the `records-v1` fixture (see testing/fixture-records-v1.ts),
 * upgraded and restored by the current driver in a throwaway namespace holding the fixture's host
 * devices, makes the same kernel objects as the suite that wrote it made from it (`kernel.json`); and
 * the restored networks are served down to nothing.
 */
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listLinks } from '../common/kernel/links.js';
import { createLogger } from '../common/log.js';
import { networkRequests } from '../common/protocol/network-api.js';
import { migrateStore } from '../common/store/format.js';
import { LevelStore } from '../common/store/level-store.js';
import { isRoot, makeTestNetns } from '../testing/kernel/netns.js';
import { NetworkDriver } from './driver.js';
import { NETWORK_MIGRATIONS } from './migrations.js';
import { createBridgeMode } from './modes/bridge/bridge-mode.js';
import { hostModeKernel } from './modes/kernel.js';
import { createMacvlanMode } from './modes/macvlan/macvlan-mode.js';
import { createNoneMode } from './modes/none/none-mode.js';
import { createOverlayMode } from './modes/overlay/overlay-mode.js';
import { FIXTURE, kernelObjects, makeFixtureHost } from './testing/fixture-records-v1.js';

const FIXTURE_DIR = fileURLToPath(new URL('./testing/records-v1', import.meta.url));
const log = createLogger({ stream: new PassThrough() });

let dir: string;
let store: LevelStore | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tstest-'));
  await cp(join(FIXTURE_DIR, 'network', 'db'), join(dir, 'db'), { recursive: true });
});
afterEach(async () => {
  await store?.close();
  store = undefined;
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!isRoot)('network records written before configs were stored, on the real kernel', () => {
  it('restore makes the objects the old code made, and the networks are served down to nothing', async () => {
    const netns = await makeTestNetns();
    await makeFixtureHost(netns);
    store = await LevelStore.open(join(dir, 'db'));
    await migrateStore(store, { what: 'fixture', log, migrations: NETWORK_MIGRATIONS });
    const kernel = hostModeKernel({ netns });
    const modes = [createNoneMode(), createBridgeMode({ kernel, tag: FIXTURE.tag, log }), createOverlayMode({ kernel, tag: FIXTURE.tag, log }), createMacvlanMode({ kernel, tag: FIXTURE.tag, log })];
    const driver = new NetworkDriver({ modes, store, log, ipv6Disabled: async () => undefined });
    try {
      await driver.restore();
      expect(await kernelObjects(netns)).toEqual(JSON.parse(await readFile(join(FIXTURE_DIR, 'kernel.json'), 'utf8')));
      for (const { id } of Object.values(FIXTURE.networks)) {
        const EndpointID = FIXTURE.endpointOf(id);
        await driver.join(networkRequests.Join.parse({ NetworkID: id, EndpointID, SandboxKey: FIXTURE.sandboxKey, Options: {} }));
        await driver.leave({ NetworkID: id, EndpointID });
        await driver.deleteEndpoint({ NetworkID: id, EndpointID });
        await driver.deleteNetwork({ NetworkID: id });
      }
      expect((await listLinks('ts', { netns })).map((l) => l.name)).toEqual([FIXTURE.parent, `${FIXTURE.parent}b`]);
    } finally {
      driver.close();
    }
  });
});
