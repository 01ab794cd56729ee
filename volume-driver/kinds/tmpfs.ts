/**
 * @module `type=tmpfs` (also the `local` driver's `device=tmpfs` form): a tmpfs mounted on `_data`
 * while something uses the volume; its content is gone with the last user.
 */
import type { TmpfsOptions } from '../host.js';
import type { VolumeSpec } from '../options.js';
import type { VolumeKind } from './kind.js';

/** The tmpfs mount options of a tmpfs volume; the source name marks the mount as tsvol's. */
export function tmpfsOptionsOf(spec: VolumeSpec): TmpfsOptions {
  return {
    source: 'tsvol',
    ...(spec.sizeBytes !== undefined && { size: spec.sizeBytes }),
    ...(spec.mode !== undefined && { mode: spec.mode }),
    ...(spec.uid !== undefined && { uid: spec.uid }),
    ...(spec.gid !== undefined && { gid: spec.gid }),
    ...(spec.nrInodes !== undefined && { nrInodes: spec.nrInodes }),
    ...(spec.noexec && { noexec: true }),
  };
}

export const tmpfs: VolumeKind = {
  backing: 'tmpfs',
  mountedWhen: 'in-use',
  usageBy: 'statfs',
  keepsContent: false,
  cloneable: true,
  snapshotForm: undefined,
  locksAll: false,
  prepare: async (_ctx, spec) => spec,
  build: async () => undefined,
  activate: ({ host, paths }, spec) => host.mountTmpfs(paths.data, tmpfsOptionsOf(spec)),
  release: ({ host, paths }) => host.unmount(paths.data),
  deactivate: ({ host, paths }) => host.unmount(paths.data),
  contentPath: ({ paths }) => paths.data,
};
