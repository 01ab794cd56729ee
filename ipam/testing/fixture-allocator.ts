/**
 * @module Helpers for tsipam's tests and benchmark: a seeded random source, a silent logger, and an
 * allocator over the in-memory store with injectable routes and clock. Not used by the plugin itself.
 */
import { Writable } from 'node:stream';
import type { ClusterSession } from '../../common/cluster/types.js';
import { createLogger, type Logger } from '../../common/log.js';
import { MemoryStore } from '../../common/store/memory-store.js';
import type { Store } from '../../common/store/store.js';
import { IpamAllocator, type AllocatorOptions } from '../core/allocator.js';
import { resolveConfig, type DefaultPoolsConfig } from '../config.js';
import { parsePrefix, type Prefix } from '../../common/addr/prefix.js';
import { StorePersistence } from '../core/store-persistence.js';

/** A deterministic random source (mulberry32): the same seed gives the same sequence, in [0, 1). */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A logger that writes nothing. */
export function silentLogger(): Logger {
  return createLogger({ level: 'error', stream: new Writable({ write: (_c, _e, cb) => cb() }) });
}

/** Options of {@link testAllocator}. */
export interface TestAllocatorOptions {
  store?: Store;
  /** Host routes as CIDR strings (both families); none by default. */
  routes?: string[];
  config?: DefaultPoolsConfig;
  now?: () => Date;
  hostRoutes?: AllocatorOptions['hostRoutes'];
  /** This host in a cluster, for cluster pools. */
  cluster?: ClusterSession;
}

/** An allocator over `store` (a fresh MemoryStore by default), with fixed routes and Docker's default pools, in `cluster` if given. */
export async function testAllocator(opts: TestAllocatorOptions = {}): Promise<{ allocator: IpamAllocator; store: Store }> {
  const store = opts.store ?? new MemoryStore();
  const routes: Prefix[] = (opts.routes ?? []).map((r) => parsePrefix(r)!);
  const allocator = await IpamAllocator.open({
    persistence: new StorePersistence(store),
    defaultPools: resolveConfig(opts.config ?? {}, 'test-host'),
    hostRoutes: opts.hostRoutes ?? (async (family) => routes.filter((r) => r.family === family)),
    log: silentLogger(),
    ...(opts.now && { now: opts.now }),
    ...(opts.cluster && { cluster: opts.cluster }),
  });
  return { allocator, store };
}
