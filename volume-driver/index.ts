/** @module tsvol, the volume driver: `-d tsvol` with `type=local` (optionally size-limited) or `type=tmpfs`. */
export { createVolumePlugin } from './plugin.js';
