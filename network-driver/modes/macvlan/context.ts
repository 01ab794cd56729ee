/**
 * @module What every phase of macvlan mode works with: the kernel seam (the real `common/kernel`
 * functions in production, a recording fake in unit tests), the namespace they act in, the log, and
 * the registry of which network uses which parent.
 */
import { links, type Links } from '../../../common/kernel/links-api.js';
import type { NetnsOption } from '../../../common/kernel/link-types.js';
import { ensureSysctl } from '../../../common/kernel/sysctl.js';
import { ensureVlan } from '../../../common/kernel/vlan.js';
import type { Logger } from '../../../common/log.js';
import type { ParentRegistry } from './parents.js';

/** The kernel operations macvlan mode uses. */
export type MacvlanKernel = Pick<
  Links,
  'findLink' | 'listLinks' | 'ensureMacvlan' | 'setUp' | 'deleteLink' | 'ensureAddress' | 'ensureRoute' | 'deleteRoute' | 'listRoutes'
> & { ensureVlan: typeof ensureVlan; ensureSysctl: typeof ensureSysctl };

/** The real kernel operations. */
export const macvlanKernel: MacvlanKernel = { ...links, ensureVlan, ensureSysctl };

/** The state every phase function takes (one per mode instance). */
export interface MacvlanContext {
  kernel: MacvlanKernel;
  /** Passed to every kernel call: `{}` in production (the plugin runs in the host's namespace), a test namespace in root tests. */
  on: NetnsOption;
  log: Logger;
  parents: ParentRegistry;
  /** This instance's tag in link names (names.ts). */
  tag: string;
}

/** The short form of a Docker ID used in messages. */
export const short = (id: string): string => id.slice(0, 12);
