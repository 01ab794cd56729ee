/**
 * @module tsnet's entry for `tsnet serve`: builds the driver with its modes and reconciles before serving.
 */
import type { PluginFactory } from '../common/plugin.js';
import { bindNetworkDriver } from '../common/protocol/network-api.js';
import { NetworkDriver } from './driver.js';
import { noneMode } from './modes/none/none-mode.js';

export const createNetworkPlugin: PluginFactory = async ({ store, log }) => {
  const driver = new NetworkDriver({ modes: [noneMode], store, log });
  await driver.restore();
  return { interfaces: [bindNetworkDriver(driver)] };
};
