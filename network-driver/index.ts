/**
 * @module tsnet's entry for `tsnet serve`: builds the driver with its modes and reconciles before serving,
 * counting first what the reconcile will repair (doctor's check).
 */
import { errorFields } from '../common/log.js';
import type { PluginContext, PluginFactory } from '../common/plugin.js';
import { bindNetworkDriver } from '../common/protocol/network-api.js';
import { bindNetworkAdmin } from './admin.js';
import { NetworkDriver } from './driver.js';
import { NETWORK_MIGRATIONS } from './migrations.js';
import { createBridgeMode } from './modes/bridge/bridge-mode.js';
import { hostModeKernel } from './modes/kernel.js';
import { createMacvlanMode } from './modes/macvlan/macvlan-mode.js';
import { createNoneMode } from './modes/none/none-mode.js';
import { createOverlayMode } from './modes/overlay/overlay-mode.js';
import { instanceTag } from './modes/shared/instance.js';

/** The network plugin; its store is brought to {@link NETWORK_MIGRATIONS}' format before it is built. */
export const createNetworkPlugin: PluginFactory = Object.assign(async ({ store, log, stateDir, cluster }: PluginContext) => {
  // The tag keeps several plugin instances on one host (tests run many) from removing each other's links.
  const tag = instanceTag(stateDir);
  // One kernel seam, bound to this process's namespace, for every mode.
  const kernel = hostModeKernel();
  const modes = [
    createNoneMode(),
    createBridgeMode({ kernel, tag, log }),
    createOverlayMode({ kernel, tag, log, ...(cluster ? { cluster } : {}) }),
    createMacvlanMode({ kernel, tag, log }),
  ];
  const driver = new NetworkDriver({ modes, store, log });
  // What the reconcile repairs, for the metrics: doctor's view of the host just before it.
  const drift = await driver.check().then(
    (findings) => findings.filter((f) => f.Fixable).length,
    (err: unknown) => void log.warn('could not count the drift before reconciling', errorFields(err)),
  );
  await driver.restore();
  return { interfaces: [bindNetworkDriver(driver), bindNetworkAdmin(driver)], close: async () => driver.close(), ...(drift !== undefined && { startDrift: drift }) };
}, { migrations: NETWORK_MIGRATIONS });
