/**
 * @module `network create/ls/inspect/rm`, the daemon side (docs/plugin-protocol.md §2.4, §2.12):
 * activate the driver and IPAM, GwAllocCheck when offered, the IPAM calls, then CreateNetwork; on
 * any failure everything handed out is released and nothing is kept. `rm` is DeleteNetwork, then
 * the IPAM releases. `none` and `host` are built in, as in docker.
 */
import { createHash } from 'node:crypto';
import type { NetworkResponses } from '../../common/protocol/network-api.js';
import { DEFAULT_DRIVERS, type Engine } from '../engine.js';
import { EngineConflictError, InvalidArgumentError, EngineNotFoundError, PluginFailedError } from '../errors.js';
import { checkName, newId, shortId } from '../ids.js';
import { isAlive } from '../state/proc-ref.js';
import type { NetworkRecord } from '../state/records.js';
import { resolveRef } from '../state/store.js';
import { consolidateIpam, isV6Config, type IpamFlags } from './ipam-config.js';
import { allocatePools, releasePools } from './pools.js';

/** Networks every engine-lite has: loopback only, and the host's own stack. */
export const BUILTIN_NETWORKS: Readonly<Record<string, string>> = { none: 'null', host: 'host' };

/** The record shown for a built-in network (never stored). */
function builtin(name: string): NetworkRecord {
  return {
    v: 1,
    id: createHash('sha256').update(`engine-lite/${name}`).digest('hex'),
    name,
    created: new Date(0).toISOString(),
    driver: BUILTIN_NETWORKS[name]!,
    enableIPv6: false,
    internal: false,
    attachable: false,
    options: {},
    labels: {},
    ipam: { driver: 'default', options: {}, config: [] },
    pools: [],
    status: 'ready',
    driverCreated: false,
  };
}

/** Whether `net` is `none` or `host`. */
export const isBuiltin = (net: NetworkRecord) => BUILTIN_NETWORKS[net.name] !== undefined && net.id === builtin(net.name).id;

/** Every network, built-in ones first. */
export async function listNetworks(engine: Engine): Promise<NetworkRecord[]> {
  const own = (await engine.state.networks.list()).sort((a, b) => a.created.localeCompare(b.created));
  return [...Object.keys(BUILTIN_NETWORKS).map(builtin), ...own];
}

/** The network `ref` names (name, ID, unique ID prefix). @throws EngineNotFoundError */
export async function findNetwork(engine: Engine, ref: string): Promise<NetworkRecord> {
  try {
    return resolveRef(await listNetworks(engine), ref, 'network');
  } catch (err) {
    if (err instanceof EngineNotFoundError && err.message.startsWith('No such')) throw new EngineNotFoundError(`network ${ref} not found`);
    throw err;
  }
}

/** `network create` flags. */
export interface NetworkCreateRequest extends IpamFlags {
  name: string;
  driver?: string;
  ipamDriver?: string;
  ipamOptions: Record<string, string>;
  options: Record<string, string>;
  labels: Record<string, string>;
  internal: boolean;
  enableIPv6: boolean;
  attachable: boolean;
}

/** The `Options` of CreateNetwork (and of GwAllocCheck), as Engine 29 sends them. */
function createOptions(net: NetworkRecord): Record<string, unknown> {
  return {
    'com.docker.network.enable_ipv4': true,
    'com.docker.network.enable_ipv6': net.enableIPv6,
    'com.docker.network.generic': net.options,
    ...(net.internal ? { 'com.docker.network.internal': true } : {}),
  };
}

/** `IPv4Data`/`IPv6Data` of CreateNetwork: every address a CIDR with the pool's length. */
function ipamData(net: NetworkRecord, v6: boolean) {
  return net.pools
    .filter((p) => p.v6 === v6)
    .map((p) => ({ AddressSpace: p.addressSpace, Pool: p.pool, ...(p.gateway ? { Gateway: p.gateway } : {}), AuxAddresses: p.aux }));
}

/** Undoes a network's plugin-side state as far as its record says it got; then drops the record. */
async function dismantle(engine: Engine, net: NetworkRecord): Promise<void> {
  const persist = () => engine.state.networks.put(net.id, net);
  if (net.driverCreated) {
    const driver = await engine.plugins.get(net.driver, 'NetworkDriver');
    await driver.call('NetworkDriver.DeleteNetwork', { NetworkID: net.id });
    net.driverCreated = false;
    await persist();
  }
  if (net.pools.length > 0) {
    const ipam = await engine.plugins.get(net.ipam.driver, 'IpamDriver');
    await releasePools(ipam, net, (m) => engine.warn(m), persist);
  }
  await engine.state.networks.remove(net.id);
}

/**
 * Creates a network through its driver and IPAM plugins.
 * @throws InvalidArgumentError, EngineConflictError (name taken), EngineNotFoundError (unknown driver),
 * PluginFailedError; nothing is left behind on any of them.
 */
export async function createNetwork(engine: Engine, req: NetworkCreateRequest): Promise<NetworkRecord> {
  checkName('network', req.name);
  const config = consolidateIpam(req);
  if (!req.enableIPv6 && config.some(isV6Config)) throw new InvalidArgumentError('an IPv6 --subnet needs --ipv6');
  const driverName = req.driver ?? DEFAULT_DRIVERS.network;
  if (BUILTIN_NETWORKS[driverName] !== undefined || driverName === 'null') {
    throw new InvalidArgumentError(`only one instance of "${driverName}" network is allowed`);
  }
  const ipamName = req.ipamDriver === undefined || req.ipamDriver === 'default' ? DEFAULT_DRIVERS.ipam : req.ipamDriver;
  const driver = await engine.plugins.get(driverName, 'NetworkDriver');
  const ipam = await engine.plugins.get(ipamName, 'IpamDriver');
  const net: NetworkRecord = {
    v: 1,
    id: newId(),
    name: req.name,
    created: new Date().toISOString(),
    driver: driverName,
    enableIPv6: req.enableIPv6,
    internal: req.internal,
    attachable: req.attachable,
    options: req.options,
    labels: req.labels,
    ipam: { driver: ipamName, options: req.ipamOptions, config },
    pools: [],
    status: 'creating',
    driverCreated: false,
    owner: engine.self,
  };
  await engine.state.lock.run(async () => {
    if ((await listNetworks(engine)).some((n) => n.name === req.name)) throw new EngineConflictError(`network with name ${req.name} already exists`);
    await engine.state.networks.put(net.id, net);
  });
  const persist = () => engine.state.networks.put(net.id, net);
  try {
    let skip = { v4: false, v6: false };
    if (driver.networkCaps?.GwAllocChecker) {
      const r = await driver.call<NetworkResponses['GwAllocCheck']>('NetworkDriver.GwAllocCheck', { Options: createOptions(net) });
      skip = { v4: r.SkipIPv4, v6: r.SkipIPv6 };
    }
    await allocatePools(ipam, net, skip, persist);
    net.driverCreated = true;
    await persist();
    try {
      await driver.call('NetworkDriver.CreateNetwork', {
        NetworkID: net.id,
        Options: createOptions(net),
        IPv4Data: ipamData(net, false),
        IPv6Data: ipamData(net, true),
      });
    } catch (err) {
      // A plugin that answered with an error stored nothing (dockerd sends no DeleteNetwork then);
      // one that never answered might have, so DeleteNetwork stays due.
      if (err instanceof PluginFailedError && err.refused) net.driverCreated = false;
      throw err;
    }
    net.status = 'ready';
    delete net.owner;
    await persist();
    return net;
  } catch (err) {
    await dismantle(engine, net).catch((e: unknown) => engine.warn(`network ${req.name}: rollback incomplete: ${(e as Error).message}`));
    throw err;
  }
}

/**
 * Removes a network: DeleteNetwork, then the IPAM releases. Refused while a running container is
 * attached.
 * @throws EngineNotFoundError, EngineConflictError, PluginFailedError (the network is then kept).
 */
export async function removeNetwork(engine: Engine, ref: string): Promise<NetworkRecord> {
  const net = await engine.state.lock.run(async () => {
    const n = await findNetwork(engine, ref);
    if (isBuiltin(n)) throw new EngineConflictError(`${n.name} is a pre-defined network and cannot be removed`);
    if (n.status !== 'ready' && isAlive(n.owner)) throw new EngineConflictError(`network ${n.name} is being ${n.status === 'creating' ? 'created' : 'removed'}`);
    const users = (await engine.state.containers.list()).filter((c) => c.state.status === 'running' && c.attachments.some((a) => a.networkId === n.id));
    if (users.length > 0) {
      throw new EngineConflictError(`error while removing network: network ${n.name} id ${n.id} has active endpoints (${users.map((c) => c.name).join(', ')})`);
    }
    const updated = { ...n, status: 'removing' as const, owner: engine.self };
    await engine.state.networks.put(n.id, updated);
    return updated;
  });
  try {
    await dismantle(engine, net);
  } catch (err) {
    await engine.state.update(engine.state.networks, net.id, (n) => {
      n.status = 'ready';
      delete n.owner;
    });
    throw err;
  }
  return net;
}

/** Finishes or undoes the work of a `network create`/`rm` whose command died. */
export async function reconcileNetworks(engine: Engine): Promise<void> {
  for (const n of await engine.state.networks.list()) {
    if (n.status === 'ready' || isAlive(n.owner)) continue;
    const taken = await engine.state.lock.run(async () => {
      const now = await engine.state.networks.get(n.id);
      if (!now || now.status === 'ready' || isAlive(now.owner)) return undefined;
      now.owner = engine.self;
      await engine.state.networks.put(now.id, now);
      return now;
    });
    if (!taken) continue;
    try {
      await dismantle(engine, taken);
      engine.warn(`network ${taken.name} (${shortId(taken.id)}): cleaned up after an interrupted ${taken.status === 'creating' ? 'create' : 'remove'}`);
    } catch (err) {
      engine.warn(`network ${taken.name}: cleanup after an interrupted command failed: ${(err as Error).message}`);
    }
  }
}
