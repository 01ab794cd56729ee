/**
 * @module `TsnetVolume`, tsvol's admin interface for the `tsnet volume` CLI, served on the plugin's
 * socket but not advertised to Docker. The plugin holds the store's lock, so the CLI asks it: for a
 * detailed listing, and for a lease on a volume's data directory while it streams a tar archive
 * from or into it in its own process.
 */
import { z } from 'zod';
import { ADMIN_INTERFACE } from '../common/plugin.js';
import { defineInterface, type Handlers } from '../common/protocol/api.js';
import type { DetailedVolume } from './status.js';

const name = z.string().min(1, 'must name the volume');

/** Request schemas of `TsnetVolume`, validated by the plugin server before the handlers run. */
export const adminRequests = {
  /** Every volume with its Status; `Fresh` measures directory usage now instead of serving the cache. */
  List: z.object({ Fresh: z.boolean().default(false) }),
  /** Takes a lease on a volume for an export or import by process `Pid`. */
  Acquire: z.object({ Name: name, Purpose: z.enum(['export', 'import']), Pid: z.number().int().positive() }),
  /** Ends a lease. */
  Release: z.object({ Name: name, Lease: z.string().min(1, 'must name the lease') }),
};

/** What each `TsnetVolume` method answers. */
export interface AdminResponses {
  List: { Volumes: DetailedVolume[] };
  /** `Mountpoint` is the directory to read or fill; `UsedBytes` what it holds now (for progress). */
  Acquire: { Lease: string; Mountpoint: string; UsedBytes?: number };
  Release: object;
}

/** The interface as the plugin server binds it (not listed in `/Plugin.Activate`). */
export const VolumeAdminSpec = defineInterface(ADMIN_INTERFACE.volume, adminRequests);
/** What the plugin implements: one camelCase method per request. */
export type VolumeAdminApi = Handlers<typeof adminRequests, AdminResponses>;
