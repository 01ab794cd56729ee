/**
 * @module `type=local`: a directory under the volumes root, or with `size=` an ext4 image kept
 * mounted on it for the volume's whole life (a hard limit on any filesystem).
 */
import { rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuildSource, KindContext, VolumeKind } from './kind.js';
import type { VolumeSpec } from '../options.js';

const unchanged = async (_ctx: KindContext, spec: VolumeSpec) => spec;
const nothing = async () => undefined;

/** Fills `_data` from a tree `source`, then sets owner and mode. */
async function fill({ host, paths }: KindContext, spec: VolumeSpec, source?: BuildSource): Promise<void> {
  if (source !== undefined && 'image' in source) throw new Error('an image snapshot can only start a size-limited volume');
  if (source !== undefined) await host.copyTree(source.tree, paths.data);
  await host.setRoot(paths.data, { uid: spec.uid, gid: spec.gid, mode: spec.mode });
}

/** A plain directory: nothing is ever mounted. */
export const localDirectory: VolumeKind = {
  backing: 'directory',
  mountedWhen: 'never',
  usageBy: 'walk',
  keepsContent: true,
  cloneable: true,
  snapshotForm: 'tree',
  locksAll: false,
  prepare: unchanged,
  build: fill,
  activate: nothing,
  release: nothing,
  deactivate: nothing,
  contentPath: ({ paths }) => paths.data,
};

/** A size-limited directory: a sparse ext4 image attached to a loop device and mounted on `_data`. */
export const localImage: VolumeKind = {
  backing: 'ext4 image',
  mountedWhen: 'always',
  usageBy: 'statfs',
  keepsContent: true,
  cloneable: true,
  snapshotForm: 'image',
  locksAll: false,
  prepare: unchanged,
  async build(ctx, spec, source) {
    const { host, paths } = ctx;
    if (source !== undefined && 'image' in source) {
      // A snapshot's image already holds the content (and has the same size); owner and mode only if given.
      const copy = () => host.copyImage(source.image, paths.image);
      await (source.freeze === undefined ? copy() : host.frozen(source.freeze, copy));
      await host.mountImage(paths.image, paths.data);
      await host.setRoot(paths.data, { uid: spec.uid, gid: spec.gid, mode: spec.mode });
      return;
    }
    await host.makeImage(paths.image, spec.sizeBytes!);
    await host.mountImage(paths.image, paths.data);
    // mkfs leaves lost+found, which would make a fresh volume look non-empty (initdb and friends refuse those).
    await rmdir(join(paths.data, 'lost+found')).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    await fill(ctx, spec, source);
  },
  activate: ({ host, paths }) => host.mountImage(paths.image, paths.data),
  release: nothing,
  deactivate: ({ host, paths }) => host.unmountImage(paths.image, paths.data),
  contentPath: ({ paths }) => paths.data,
};
