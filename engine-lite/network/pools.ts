/**
 * @module A network's IPAM side, in libnetwork's order (docs/plugin-protocol.md §3.3): one
 * GetDefaultAddressSpaces, then per config (IPv4, then IPv6 with `--ipv6`; one empty config when no
 * subnet of that family was given) GetDefaultAddressSpaces → RequestPool → gateway RequestAddress
 * (unless the pool's data names a gateway, or GwAllocCheck said skip) → one RequestAddress per aux
 * address. Each result is recorded as soon as it arrives, so a rollback or a later reconcile
 * releases exactly what was handed out.
 */
import type { IpamResponses } from '../../common/protocol/ipam-api.js';
import type { PluginClient } from '../plugins/registry.js';
import type { NetworkRecord, PoolRecord } from '../state/records.js';
import { isV6Config } from './ipam-config.js';

/** Key under which a pool's data may carry the gateway (then no RequestAddress is made for it). */
const GATEWAY_DATA_KEY = 'com.docker.network.gateway';

/** What the network driver's GwAllocCheck answered (all false without one). */
export interface GatewaySkip {
  v4: boolean;
  v6: boolean;
}

/** Plain IP of a CIDR. */
export const ipOf = (cidr: string) => cidr.split('/')[0]!;

/**
 * Requests the network's pools, gateways and aux addresses, pushing each onto `net.pools` and
 * calling `persist` after every step.
 * @throws PluginFailedError; what was obtained before stays recorded for {@link releasePools}.
 */
export async function allocatePools(ipam: PluginClient, net: NetworkRecord, skip: GatewaySkip, persist: () => Promise<void>): Promise<void> {
  const spaces = await ipam.call<IpamResponses['GetDefaultAddressSpaces']>('IpamDriver.GetDefaultAddressSpaces');
  const space = spaces.LocalDefaultAddressSpace;
  for (const v6 of net.enableIPv6 ? [false, true] : [false]) {
    const configs = net.ipam.config.filter((c) => isV6Config(c) === v6);
    for (const cfg of configs.length > 0 ? configs : [{}]) {
      await ipam.call('IpamDriver.GetDefaultAddressSpaces');
      const pool = await ipam.call<IpamResponses['RequestPool']>('IpamDriver.RequestPool', {
        AddressSpace: space,
        Pool: cfg.Subnet ?? '',
        SubPool: cfg.IPRange ?? '',
        Options: net.ipam.options,
        V6: v6,
      });
      const rec: PoolRecord = { v6, addressSpace: space, poolId: pool.PoolID, pool: pool.Pool, subPool: cfg.IPRange ?? '', aux: {} };
      net.pools.push(rec);
      const dataGateway = pool.Data?.[GATEWAY_DATA_KEY];
      if (dataGateway && cfg.Gateway === undefined) rec.gateway = dataGateway;
      await persist();
      if (rec.gateway === undefined && !((v6 ? skip.v6 : skip.v4) && cfg.Gateway === undefined)) {
        const gw = await ipam.call<IpamResponses['RequestAddress']>('IpamDriver.RequestAddress', {
          PoolID: rec.poolId,
          Address: cfg.Gateway ?? '',
          Options: { RequestAddressType: GATEWAY_DATA_KEY },
        });
        rec.gateway = gw.Address;
        await persist();
      }
      for (const [name, address] of Object.entries(cfg.AuxiliaryAddresses ?? {})) {
        const aux = await ipam.call<IpamResponses['RequestAddress']>('IpamDriver.RequestAddress', { PoolID: rec.poolId, Address: address, Options: null });
        rec.aux[name] = aux.Address;
        await persist();
      }
    }
  }
}

/**
 * Gives everything in `net.pools` back, last first: the gateway, the aux addresses, then the pool.
 * A failing release is reported to `warn` and skipped (dockerd only logs them). Idempotent.
 */
export async function releasePools(ipam: PluginClient, net: NetworkRecord, warn: (msg: string) => void, persist: () => Promise<void>): Promise<void> {
  const release = async (body: object, what: string) => {
    try {
      await ipam.call(`IpamDriver.${what}`, body);
    } catch (err) {
      warn(`network ${net.name}: ${(err as Error).message}`);
    }
  };
  while (net.pools.length > 0) {
    const p = net.pools[net.pools.length - 1]!;
    if (p.gateway !== undefined) await release({ PoolID: p.poolId, Address: ipOf(p.gateway) }, 'ReleaseAddress');
    for (const a of Object.values(p.aux)) await release({ PoolID: p.poolId, Address: ipOf(a) }, 'ReleaseAddress');
    await release({ PoolID: p.poolId }, 'ReleasePool');
    net.pools.pop();
    await persist();
  }
}
