/**
 * @module Where `tsnet serve` finds each plugin's factory. Loaded lazily, so `--only network` does
 * not load the volume driver's code.
 */
import type { PluginFactory, PluginKind } from '../common/plugin.js';

export const PLUGIN_FACTORIES: Record<PluginKind, () => Promise<PluginFactory>> = {
  network: async () => (await import('../network-driver/index.js')).createNetworkPlugin,
  ipam: async () => (await import('../ipam/index.js')).createIpamPlugin,
  volume: async () => (await import('../volume-driver/index.js')).createVolumePlugin,
};
