/**
 * @module What the `tsnet serve` process needs from each plugin (network, ipam, volume): a factory
 * that takes the plugin's own state directory, store, logger and (multi-host) cluster session,
 * reconciles the host with the store, and returns the interfaces to serve on its socket.
 */
import type { BoundInterface } from './protocol/api.js';
import type { Store } from './store/store.js';
import type { Logger } from './log.js';
import type { ClusterSession } from './cluster/types.js';

export type PluginKind = 'network' | 'ipam' | 'volume';

export interface PluginContext {
  /** The plugin's own directory under the state dir (e.g. `/var/lib/tsnet/network`); it exists. */
  stateDir: string;
  /** The plugin's own store (a LevelDB under `stateDir/db`). */
  store: Store;
  log: Logger;
  /** This host's session in the cluster store (`--cluster-store`); absent: single host, nothing shared. */
  cluster?: ClusterSession;
}

export interface PluginInstance {
  /** Interfaces served on the plugin's socket; admin interfaces (`Tsnet…`) are not advertised to Docker. */
  interfaces: BoundInterface[];
  /** Releases what the plugin holds (timers, watches). Kernel state stays: a restart reconciles it. */
  close?(): Promise<void>;
}

/** Builds a plugin; must reconcile kernel state with the store before resolving. */
export type PluginFactory = (ctx: PluginContext) => Promise<PluginInstance>;

/** Socket file names, as Docker finds them: `-d tsnet`, `--ipam-driver tsipam`, `-d tsvol`. */
export const SOCKET_NAMES: Record<PluginKind, string> = { network: 'tsnet.sock', ipam: 'tsipam.sock', volume: 'tsvol.sock' };

/** Where dockerd looks for v1 plugin sockets, and so where `tsnet serve` puts them by default. */
export const DEFAULT_PLUGINS_DIR = '/run/docker/plugins';

/** Where `tsnet serve` keeps its state by default (one subdirectory per plugin). */
export const DEFAULT_STATE_DIR = '/var/lib/tsnet';

/** The Docker interface each plugin's socket implements, as `Plugin.Activate` lists it. */
export const PLUGIN_INTERFACES: Record<PluginKind, 'NetworkDriver' | 'IpamDriver' | 'VolumeDriver'> = {
  network: 'NetworkDriver',
  ipam: 'IpamDriver',
  volume: 'VolumeDriver',
};
