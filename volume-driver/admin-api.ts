/**
 * @module `TsnetVolume`, tsvol's admin interface for the `tsnet volume` CLI, served on the plugin's
 * socket but not advertised to Docker. The plugin holds the store's lock, so the CLI asks it: for a
 * detailed listing, and for a lease on a volume's data directory while it streams a tar archive
 * from or into it in its own process.
 */
import { z } from 'zod';
import type { Finding } from '../common/finding.js';
import { ADMIN_INTERFACE } from '../common/plugin.js';
import { defineInterface, type Handlers } from '../common/protocol/api.js';
import { empty } from '../common/protocol/fields.js';
import type { SnapshotInfo } from './snapshots.js';
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
  /** The container mount IDs each volume holds, for serve's agreement with Docker (docker-sync/). */
  Mounts: empty,
  /** Takes a snapshot (`Snapshot` defaults to the time); `Method: copy` forces a sparse copy of an image. */
  Snapshot: z.object({ Volume: name, Snapshot: z.string().min(1).optional(), Method: z.enum(['auto', 'copy']).default('auto') }),
  /** Snapshots, of `Volume` if given. */
  Snapshots: z.object({ Volume: z.string().min(1).optional() }),
  /** Deletes a snapshot; an unknown one is fine. */
  RemoveSnapshot: z.object({ Volume: name, Snapshot: z.string().min(1, 'must name the snapshot') }),
  /** `tsnet doctor`: how the host differs from the volume records. Read-only. */
  Check: empty,
  /** `tsnet doctor --fix`: reconcile again (mount what records say, remove what none owns). */
  Repair: empty,
};

/** What each `TsnetVolume` method answers. */
export interface AdminResponses {
  List: { Volumes: DetailedVolume[] };
  /** `Mountpoint` is the directory to read or fill; `UsedBytes` what it holds now (for progress). */
  Acquire: { Lease: string; Mountpoint: string; UsedBytes?: number };
  Release: object;
  /** Mount ID → Mounts minus Unmounts with it, per volume (volumes with no mount included). */
  Mounts: { Volumes: Array<{ Name: string; Mounts: Record<string, number> }> };
  Snapshot: { Snapshot: SnapshotInfo };
  Snapshots: { Snapshots: SnapshotInfo[] };
  RemoveSnapshot: object;
  Check: { Findings: Finding[] };
  Repair: object;
}

/** The interface as the plugin server binds it (not listed in `/Plugin.Activate`). */
export const VolumeAdminSpec = defineInterface(ADMIN_INTERFACE.volume, adminRequests);
/** What the plugin implements: one camelCase method per request. */
export type VolumeAdminApi = Handlers<typeof adminRequests, AdminResponses>;
