/** @module {@link kindOf}: the one place a volume spec's type picks its {@link VolumeKind}. */
import type { VolumeSpec } from '../options.js';
import { directory } from './directory.js';
import type { VolumeKind } from './kind.js';
import { localDirectory, localImage } from './local.js';
import { tmpfs } from './tmpfs.js';

export type { KindContext, VolumeKind } from './kind.js';
export { KIND_LOCK } from './kind.js';

/** The kind implementing `spec`. */
export function kindOf(spec: VolumeSpec): VolumeKind {
  switch (spec.type) {
    case 'tmpfs':
      return tmpfs;
    case 'dir':
      return directory;
    case 'local':
      return spec.sizeBytes === undefined ? localDirectory : localImage;
  }
}
