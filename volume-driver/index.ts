/**
 * @module tsvol, the volume driver: `-d tsvol` with `type=local` (optionally size-limited), `type=tmpfs`
 * or a host directory (`path=`), with snapshots and clones (see docs/tsvol-directories-snapshots.md).
 */
export { createVolumePlugin } from './plugin.js';
