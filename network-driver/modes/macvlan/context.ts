/**
 * @module What every phase of macvlan mode works with: the kernel seam (namespace bound when it was
 * made: the host's in production, a throwaway one in root tests, the recording fake in unit tests),
 * the log, and the registry of which network uses which parent.
 */
import type { Logger } from '../../../common/log.js';
import type { NetworkRecord } from '../../records.js';
import type { ModeKernel } from '../kernel.js';
import type { MacvlanConfig } from './options.js';
import type { ParentRegistry } from './parents.js';

/** The state every phase function takes (one per mode instance). */
export interface MacvlanContext {
  kernel: ModeKernel;
  log: Logger;
  parents: ParentRegistry;
  /** This instance's tag in link names (names.ts). */
  tag: string;
}

/** A macvlan network's record: its config is a {@link MacvlanConfig}. */
export type MacvlanNetwork = NetworkRecord<MacvlanConfig>;
