/**
 * @module tsipam's entry point for `tsnet serve`: reads the default-pool configuration, loads the
 * allocator's state from the plugin's store (cluster pools from etcd, given `--cluster-store`), and
 * returns the IpamDriver and TsnetIpam interfaces.
 *
 * The folder: driver.ts (Docker's IpamDriver calls), config.ts (default pools from the environment),
 * errors.ts at the top; core/ the allocator (pools, address sets, requests, default pools, garbage rule,
 * local persistence); cluster/ pools shared through etcd; admin/ the TsnetIpam interface and the
 * `tsnet ipam` commands; testing/ fixtures for tests and the benchmark (not in the build).
 */
import { ipv6Disabled } from '../common/kernel/sysctl.js';
import type { PluginFactory } from '../common/plugin.js';
import { bindIpamDriver } from '../common/protocol/ipam-api.js';
import { bindIpamAdmin } from './admin/admin.js';
import { IpamAllocator } from './core/allocator.js';
import { hostIdentity, readConfig, resolveConfig } from './config.js';
import { formatDefaultPool } from './core/default-pools.js';
import { createIpamDriver } from './driver.js';
import { hostRoutePrefixes } from './core/host-routes.js';
import { StorePersistence } from './core/store-persistence.js';

/** Builds tsipam; fails (refusing to start) on an unreadable default-pool configuration. */
export const createIpamPlugin: PluginFactory = async ({ stateDir, store, log, cluster }) => {
  const defaultPools = resolveConfig(await readConfig(stateDir), await hostIdentity());
  log.info('default pools', { local: defaultPools.LocalDefault.map(formatDefaultPool), global: defaultPools.GlobalDefault.map(formatDefaultPool) });
  const allocator = await IpamAllocator.open({
    persistence: new StorePersistence(store),
    defaultPools,
    hostRoutes: hostRoutePrefixes,
    log,
    ...(cluster && { cluster }),
  });
  return { interfaces: [bindIpamDriver(createIpamDriver(allocator, () => ipv6Disabled())), bindIpamAdmin(allocator)] };
};
