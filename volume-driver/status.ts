/**
 * @module The `Status` of a volume as `docker volume inspect` and `tsnet volume ls` show it: real
 * figures from the host (statfs for tmpfs and ext4 images, a cached tree walk for directories), the
 * mount count, and the options with anything secret-looking redacted.
 */
import { kindOf, type KindContext } from './kinds/index.js';
import { redactOptions } from './options.js';
import { mountCount, type VolumeRecord } from './record.js';
import { formatSize } from './size.js';
import type { UsageMeter } from './usage-meter.js';

/** The Status object of one volume. Byte counts are numbers; `SizeLimit`/`Used` are for people. */
export type VolumeStatus = {
  Type: 'local' | 'tmpfs' | 'dir';
  /** `directory`, `ext4 image`, `tmpfs` or `host directory`. */
  Backing: string;
  /** A directory volume's host directory, resolved. */
  Path?: string;
  SizeLimit?: string;
  SizeLimitBytes?: number;
  /** Whether the tmpfs, ext4 image or host directory is mounted now (absent for plain directories). */
  Mounted?: boolean;
  Used?: string;
  UsedBytes?: number;
  /** Free bytes left under the size limit (mounted tmpfs and ext4 images). */
  AvailableBytes?: number;
  /** When `UsedBytes` of a directory was measured (RFC 3339); the figure may be up to seconds old. */
  UsageMeasuredAt?: string;
  /** Container mounts (Mount minus Unmount, over all mount IDs). */
  MountCount: number;
  /** Exports and imports in progress (`tsnet volume export|import`). */
  Leases?: number;
  Options: Record<string, string>;
};

/** A volume as Get (inside `Volume`) and `TsnetVolume.List` return it. */
export interface DetailedVolume {
  Name: string;
  Mountpoint: string;
  /** RFC 3339. */
  CreatedAt: string;
  Status: VolumeStatus;
}

/**
 * Computes the Status of `rec`. With `fresh`, a directory's usage is measured now rather than
 * served from the cache.
 */
export async function volumeStatus(rec: VolumeRecord, ctx: KindContext, meter: UsageMeter, opts: { fresh?: boolean } = {}): Promise<VolumeStatus> {
  const { spec } = rec;
  const kind = kindOf(spec);
  const { host, paths } = ctx;
  const status: VolumeStatus = { Type: spec.type, Backing: kind.backing, MountCount: mountCount(rec), Options: redactOptions(rec.options) };
  if (spec.realPath !== undefined) status.Path = spec.realPath;
  if (spec.sizeBytes !== undefined) {
    status.SizeLimit = formatSize(spec.sizeBytes);
    status.SizeLimitBytes = spec.sizeBytes;
  }
  const leases = Object.keys(rec.leases).length;
  if (leases > 0) status.Leases = leases;
  if (kind.mountedWhen !== 'never') status.Mounted = await host.isMountpoint(paths.data);
  if (kind.usageBy === 'statfs') {
    if (status.Mounted) {
      const space = await host.space(paths.data);
      status.UsedBytes = space.used;
      status.AvailableBytes = space.available;
    } else if (!kind.keepsContent) {
      status.UsedBytes = 0; // an unmounted tmpfs volume is empty by definition
    }
  } else {
    const m = await meter.read(rec.name, kind.contentPath(ctx, spec), opts);
    if (m) {
      status.UsedBytes = m.bytes;
      status.UsageMeasuredAt = m.at.toISOString();
    }
  }
  if (status.UsedBytes !== undefined) status.Used = formatSize(status.UsedBytes);
  return status;
}
