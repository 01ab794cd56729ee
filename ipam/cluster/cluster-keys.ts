/**
 * @module What tsipam keeps in etcd for cluster pools (`--ipam-opt cluster=true`), pure: the key layout,
 * the shared pool definition and how two definitions differ. A cluster pool is named by its address
 * space and subnet (`LocalDefault/10.20.0.0/24`, the pool ID without the sub-pool), so hosts that ask for
 * the same subnet with another `--ip-range` or other options meet the same key and are refused:
 *
 * - `/tsnet/v1/ipam/pools/<space>/<subnet>`: the {@link ClusterPoolDefinition}. Every joiner and every
 *   leaver that is not the last rewrites it (same value) in its transaction, so its mod revision changes
 *   and the last leaver's delete (a compare on that revision) cannot race a join or another leave.
 * - `/tsnet/v1/ipam/users/<space>/<subnet>/<hostId>`: the hosts that use the pool (no lease: a dead
 *   host still uses it until its network is removed there or `tsnet ipam gc` runs there).
 * - `/tsnet/v1/ipam/addresses/<space>/<subnet>/<address>`: one {@link AddressRecord} per held address,
 *   naming the host that claimed it; created only with a compare on create revision 0.
 *
 * Prefixes end in `/` and addresses and host IDs contain none, so one pool's prefix never covers another's.
 */
import { KEY_ROOT } from '../../common/cluster/types.js';
import type { AddressRecord, PoolRecord } from '../core/persistence.js';
import { OPTION } from '../core/requests.js';

const IPAM = `${KEY_ROOT}ipam/`;

/** Whether a pool record is a cluster pool. */
export const isClusterPool = (record: Pick<PoolRecord, 'options'>) => record.options[OPTION.cluster] === 'true';

/** The cluster name of a pool ID: its space and subnet (`LocalDefault/10.20.0.0/24/10.20.0.128/25` → `LocalDefault/10.20.0.0/24`). */
export const clusterName = (poolId: string) => poolId.split('/').slice(0, 3).join('/');

/** The etcd keys of one cluster pool. */
export interface ClusterPoolKeys {
  pool: string;
  users: string;
  addresses: string;
}

/** The keys of the cluster pool of `poolId`. */
export function clusterKeys(poolId: string): ClusterPoolKeys {
  const name = clusterName(poolId);
  return { pool: `${IPAM}pools/${name}`, users: `${IPAM}users/${name}/`, addresses: `${IPAM}addresses/${name}/` };
}

/** What every host of a cluster pool must ask for alike, and who created it when. */
export interface ClusterPoolDefinition {
  v: 1;
  space: string;
  pool: string;
  subPool?: string;
  options: Record<string, string>;
  createdBy: string;
  createdAt: string;
}

/** The definition of `record`, created by `hostId`. */
export function definitionOf(record: PoolRecord, hostId: string): ClusterPoolDefinition {
  const { space, pool, subPool, options, createdAt } = record;
  return { v: 1, space, pool, ...(subPool && { subPool }), options, createdBy: hostId, createdAt };
}

/**
 * How `want` differs from the definition the cluster `has`, one phrase per difference (the sub-pool, then
 * each option by name); empty when a host may join.
 */
export function definitionDifferences(has: ClusterPoolDefinition, want: ClusterPoolDefinition): string[] {
  const show = (v: string | undefined) => (v === undefined ? 'none' : `"${v}"`);
  const out: string[] = [];
  if (has.subPool !== want.subPool) out.push(`ip-range (sub-pool): cluster has ${has.subPool ?? 'none'}, this host asked for ${want.subPool ?? 'none'}`);
  const keys = [...new Set([...Object.keys(has.options), ...Object.keys(want.options)])].sort();
  for (const k of keys) {
    if (has.options[k] !== want.options[k]) out.push(`ipam option ${k}: cluster has ${show(has.options[k])}, this host asked for ${show(want.options[k])}`);
  }
  return out;
}

function parseJson<T>(value: string, ok: (v: T) => boolean): T | undefined {
  try {
    const v = JSON.parse(value) as T;
    return v !== null && typeof v === 'object' && ok(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Parses a stored address record, undefined when it is not JSON of the expected shape. */
export const parseAddressRecord = (value: string) => parseJson<AddressRecord>(value, (r) => typeof r.address === 'string' && typeof r.kind === 'string');

/** Parses a stored pool definition, undefined when it is not JSON of the expected shape. */
export const parseDefinition = (value: string) =>
  parseJson<ClusterPoolDefinition>(value, (d) => typeof d.pool === 'string' && typeof d.options === 'object' && d.options !== null);
