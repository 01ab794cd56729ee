/**
 * @module The allocator's requests: Docker's names for address spaces and option keys, the checks that
 * turn a RequestPool into a plan (which space and family, which subnet or length, which sub-pool), and
 * the record of a held address. Pure; throws InvalidRequestError naming the bad field and what was expected.
 */
import type { Family } from '../../common/addr/parse.js';
import type { NextMode } from './address-pool.js';
import { InvalidRequestError } from '../../common/protocol/errors.js';
import { RECORD_VERSION, type AddressKind, type AddressRecord } from './persistence.js';
import { containsPrefix, formatPrefix, parsePrefix, type Prefix } from '../../common/addr/prefix.js';

/** The two address spaces, as Docker's built-in IPAM names them. */
export const ADDRESS_SPACES = { local: 'LocalDefault', global: 'GlobalDefault' } as const;
/** `LocalDefault` or `GlobalDefault`. */
export type AddressSpace = (typeof ADDRESS_SPACES)[keyof typeof ADDRESS_SPACES];

/** Option keys tsipam reads (wire names, as Docker sends them). */
export const OPTION = {
  /** RequestPool (`--ipam-opt`) and RequestAddress: `"true"` = serial, `"false"` = lowest free. */
  serial: 'com.docker.network.ipam.serial',
  /** RequestPool (`--ipam-opt cluster=true`): the pool is shared by every host through the cluster store. */
  cluster: 'cluster',
  /** RequestAddress: `com.docker.network.gateway` marks the gateway request. */
  addressType: 'RequestAddressType',
  gatewayType: 'com.docker.network.gateway',
  endpointName: 'com.docker.network.endpoint.name',
  mac: 'com.docker.network.endpoint.macaddress',
} as const;

/** A RequestPool, with Docker's fields already validated as CIDRs. */
export interface PoolRequest {
  /** `""` means the local default space. */
  space: string;
  /** `""` (or an unspecified address such as `0.0.0.0/24`) lets tsipam choose. */
  pool: string;
  subPool: string;
  v6: boolean;
  options: Record<string, string>;
}

/** A RequestAddress; `address` is `""` for next-free. */
export interface AddressRequest {
  poolId: string;
  address: string;
  options: Record<string, string>;
}

/** A checked RequestPool: an explicit `subnet`, or (automatic) an optional requested prefix length. */
export interface PoolPlan {
  space: AddressSpace;
  family: Family;
  /** The explicit subnet; absent when tsipam chooses. */
  subnet?: Prefix;
  /** For an automatic pool, the prefix length asked for (`0.0.0.0/24`); else each default pool's size. */
  len?: number;
  range?: Prefix;
  /** `--ipam-opt cluster=true`: a cluster pool (always with an explicit subnet). */
  cluster: boolean;
}

/** The record of an address held for `req`; `gateway` when the request said so. */
export function addressRecord(req: AddressRequest, address: string, gateway: boolean, at: Date): AddressRecord {
  const name = req.options[OPTION.endpointName];
  const mac = req.options[OPTION.mac];
  // Aux addresses come as a specific address with no options at all (docs/plugin-protocol.md §3.2).
  const kind: AddressKind = gateway ? 'gateway' : name || mac || req.address === '' ? 'endpoint' : 'aux';
  return { v: RECORD_VERSION, poolId: req.poolId, address, kind, ...(name && { name }), ...(mac && { mac }), at: at.toISOString() };
}

/** Whether `req` asks for a network's gateway. */
export const isGatewayRequest = (req: AddressRequest) => req.options[OPTION.addressType] === OPTION.gatewayType;

/** How next-free picks for `req` in a pool created with `poolOptions`: the lowest free address for a gateway or with serial off. */
export function nextMode(req: AddressRequest, poolOptions: Record<string, string>): NextMode {
  const serial = (req.options[OPTION.serial] ?? poolOptions[OPTION.serial] ?? 'true') === 'true';
  return isGatewayRequest(req) || !serial ? 'lowest' : 'serial';
}

/** Checks a RequestPool. Throws InvalidRequestError for a bad space, option, family, host bits or sub-pool. */
export function planPool(req: PoolRequest): PoolPlan {
  const space = checkSpace(req.space);
  for (const key of [OPTION.serial, OPTION.cluster]) {
    const value = req.options[key];
    if (value !== undefined && value !== 'true' && value !== 'false') throw new InvalidRequestError(`option ${key} must be "true" or "false", got "${value}"`);
  }
  const cluster = req.options[OPTION.cluster] === 'true';
  const family: Family = req.v6 ? 6 : 4;
  const given = req.pool === '' ? undefined : parsePrefix(req.pool);
  if (given && given.family !== family) throw new InvalidRequestError(`pool ${req.pool} is IPv${given.family} but V6 is ${req.v6}`);
  // Engine 29 asks for "any /24" with an unspecified address: 0.0.0.0/24, ::/56.
  const auto = given === undefined || (given.first === 0n && req.pool.startsWith(family === 4 ? '0.0.0.0/' : '::/'));
  if (given && !auto && parsePrefix(req.pool, true) === undefined) {
    throw new InvalidRequestError(`pool ${req.pool} has host bits set; use ${formatPrefix(given)}`);
  }
  const range = req.subPool === '' ? undefined : checkSubPool(req.subPool, req.pool, auto ? undefined : given);
  if (auto && cluster) {
    throw new InvalidRequestError(
      `ipam option ${OPTION.cluster}=true needs an explicit --subnet (the same on every host): tsipam does not choose subnets for cluster pools, as each host would choose its own`,
    );
  }
  if (auto) return { space, family, ...(given && { len: given.len }), ...(range && { range }), cluster };
  return { space, family, subnet: given, ...(range && { range }), cluster };
}

function checkSpace(space: string): AddressSpace {
  if (space === '') return ADDRESS_SPACES.local;
  if (space === ADDRESS_SPACES.local || space === ADDRESS_SPACES.global) return space;
  throw new InvalidRequestError(`unknown address space "${space}": use ${ADDRESS_SPACES.local} or ${ADDRESS_SPACES.global}`);
}

function checkSubPool(text: string, poolText: string, pool: Prefix | undefined): Prefix {
  if (!pool) throw new InvalidRequestError(`sub-pool ${text} needs an explicit pool (--subnet) to lie in`);
  const range = parsePrefix(text);
  if (!range || parsePrefix(text, true) === undefined) throw new InvalidRequestError(`sub-pool ${text} has host bits set; use ${range ? formatPrefix(range) : 'a CIDR'}`);
  if (!containsPrefix(pool, range)) throw new InvalidRequestError(`sub-pool (ip-range) ${text} is not inside pool ${poolText}`);
  return range;
}
