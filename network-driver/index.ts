/**
 * @module tsnet's entry for `tsnet serve`: builds the driver with its modes and reconciles before serving.
 */
import type { PluginFactory } from '../common/plugin.js';
import { bindNetworkDriver } from '../common/protocol/network-api.js';
import { bindNetworkAdmin } from './admin.js';
import { NetworkDriver } from './driver.js';
import { createBridgeMode } from './modes/bridge/bridge-mode.js';
import { hostBridgeKernel } from './modes/bridge/kernel.js';
import { createMacvlanMode } from './modes/macvlan/macvlan-mode.js';
import { noneMode } from './modes/none/none-mode.js';
import { hostOverlayKernel } from './modes/overlay/kernel.js';
import { createOverlayMode } from './modes/overlay/overlay-mode.js';
import { instanceTag } from './modes/shared/instance.js';

export const createNetworkPlugin: PluginFactory = async ({ store, log, stateDir, cluster }) => {
  // The tag keeps several plugin instances on one host (tests run many) from removing each other's links.
  const tag = instanceTag(stateDir);
  const modes = [
    noneMode,
    createBridgeMode({ kernel: hostBridgeKernel(), tag, log }),
    createOverlayMode({ kernel: hostOverlayKernel(), tag, log, ...(cluster ? { cluster } : {}) }),
    createMacvlanMode({ log, instanceTag: tag }),
  ];
  const driver = new NetworkDriver({ modes, store, log });
  await driver.restore();
  return { interfaces: [bindNetworkDriver(driver), bindNetworkAdmin(driver)], close: async () => driver.close() };
};
