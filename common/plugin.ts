/**
 * @module What the `tsnet serve` process needs from each plugin (network, ipam, volume): a factory
 * that takes the plugin's own state directory, store, logger and (multi-host) cluster session,
 * reconciles the host with the store, and returns the interfaces to serve on its socket. Also the
 * names known before any plugin code loads: sockets, interfaces, and a call that proves readiness.
 */
import type { BoundInterface, InterfaceName } from './protocol/api.js';
import type { Migration } from './store/format.js';
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
  /**
   * tsvol: where volume Mountpoints are published, `<mountDir>/<name>` (`--mount-dir`; a managed
   * plugin's propagatedMount). Absent: a volume's Mountpoint is its data directory.
   */
  mountDir?: string;
  /**
   * tsvol: where the host's root filesystem is seen (`--host-root`; a managed plugin: `/host`), so a
   * directory volume's host path `P` is reached at `<hostRoot>/P`. Absent: `/`.
   */
  hostRoot?: string;
}

export interface PluginInstance {
  /**
   * Interfaces served on the plugin's socket: exactly its {@link DOCKER_INTERFACE} and
   * {@link ADMIN_INTERFACE}; the admin one (`Tsnet…`) is not advertised to Docker.
   */
  interfaces: BoundInterface[];
  /** Releases what the plugin holds (timers, watches). Kernel state stays: a restart reconciles it. */
  close?(): Promise<void>;
  /**
   * What the start-up reconcile found to repair: `tsnet doctor`'s fixable findings just before it ran
   * (0 after a clean restart; every object after a reboot). Absent for a plugin without a check (tsipam).
   */
  startDrift?: number;
}

/**
 * Builds a plugin; must reconcile kernel state with the store before resolving. `tsnet serve` listens
 * before calling it and holds the plugin's calls until it resolves. `migrations`: the store format
 * steps of this plugin (default: the common ones, store/format.ts MIGRATIONS); `tsnet serve` runs them
 * before calling the factory.
 */
export type PluginFactory = ((ctx: PluginContext) => Promise<PluginInstance>) & { readonly migrations?: readonly Migration[] };

/** The driver names Docker knows the plugins by (legacy sockets): `-d tsnet`, `--ipam-driver tsipam`, `-d tsvol`. */
export const PLUGIN_NAMES: Record<PluginKind, string> = { network: 'tsnet', ipam: 'tsipam', volume: 'tsvol' };

/** Socket file names of the one-socket-per-plugin layout: `<plugins-dir>/tsnet.sock`, `tsipam.sock`, `tsvol.sock`. */
export const SOCKET_NAMES: Record<PluginKind, string> = { network: 'tsnet.sock', ipam: 'tsipam.sock', volume: 'tsvol.sock' };

/** Where Docker looks for plugin sockets, and `tsnet serve` makes them unless told otherwise. */
export const DEFAULT_PLUGINS_DIR = '/run/docker/plugins';

/** Where `tsnet serve` keeps its state by default (one subdirectory per plugin). */
export const DEFAULT_STATE_DIR = '/var/lib/tsnet';

/** The Docker interface each plugin implements (listed by `Plugin.Activate`). */
export const DOCKER_INTERFACE: Record<PluginKind, InterfaceName> = { network: 'NetworkDriver', ipam: 'IpamDriver', volume: 'VolumeDriver' };

/** The admin interface each plugin serves for the `tsnet` CLI (never listed by `Plugin.Activate`). */
export const ADMIN_INTERFACE: Record<PluginKind, InterfaceName> = { network: 'TsnetNetwork', ipam: 'TsnetIpam', volume: 'TsnetVolume' };

/** A cheap call each plugin answers only once it is ready (reconciled); `Plugin.Activate` answers before. */
export const READY_CALL: Record<PluginKind, string> = {
  network: 'NetworkDriver.GetCapabilities',
  ipam: 'IpamDriver.GetCapabilities',
  volume: 'VolumeDriver.Capabilities',
};
