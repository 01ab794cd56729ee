/**
 * @module The IPAM failures a caller branches on, each with a stable `code`. They extend
 * the wire categories of common/protocol/errors.ts, so the plugin server sends them as `{"Err"}`.
 * Messages reuse Docker's texts ("Address already in use", "no available addresses on this pool").
 */
import { ConflictError } from '../common/protocol/errors.js';

/** Every allocatable address (or every default subnet) is taken. */
export class PoolExhaustedError extends ConflictError {
  override readonly code = 'ERR_POOL_EXHAUSTED';
}

/** A specific address was asked for and someone holds it. */
export class AddressInUseError extends ConflictError {
  override readonly code = 'ERR_ADDRESS_IN_USE';
}

/** A requested pool overlaps a pool of the same address space. */
export class PoolOverlapError extends ConflictError {
  override readonly code = 'ERR_POOL_OVERLAP';
}

/** ReleasePool while addresses of the pool are still allocated. */
export class PoolInUseError extends ConflictError {
  override readonly code = 'ERR_POOL_IN_USE';
}

/** A host asked for a cluster pool that exists in the cluster store with another sub-pool or other options. */
export class ClusterPoolMismatchError extends ConflictError {
  override readonly code = 'ERR_CLUSTER_POOL_MISMATCH';
}
