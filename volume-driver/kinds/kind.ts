/**
 * @module The one interface every volume type implements, and {@link kindOf}, the only place that
 * looks at a spec's type to pick one. Callers (driver, reconcile, check, status, snapshots) ask the
 * kind instead of testing the type themselves.
 *
 * | kind               | Create                          | Mount / reconcile                | last Unmount    |
 * | ------------------ | ------------------------------- | -------------------------------- | --------------- |
 * | local (directory)  | `_data` directory               | nothing                          | nothing         |
 * | local + size       | ext4 image, mounted on `_data`  | image mounted                    | nothing         |
 * | tmpfs              | empty `_data` directory         | tmpfs mounted on `_data`         | tmpfs unmounted |
 * | dir (`path=`)      | the host directory checked      | checked again, bound on `_data`  | bind undone     |
 */
import type { VolumeHost } from '../host.js';
import type { VolumePaths } from '../names.js';
import type { VolumeSpec } from '../options.js';
import type { VolumeRecord } from '../record.js';

/** What a kind's steps work on. */
export interface KindContext {
  host: VolumeHost;
  paths: VolumePaths;
  /** The suite's state directory, resolved (directory volumes may never reach it). */
  stateDir: string;
  /** Where the host's root filesystem is seen (`--host-root`), resolved: a directory volume's host path is reached below it. */
  hostRoot: string;
}

/**
 * What a new volume starts with: a copy of a directory tree, or of an ext4 image (a snapshot's, or a
 * live volume's copied while the filesystem mounted at `freeze` is frozen).
 */
export type BuildSource = { tree: string } | { image: string; freeze?: string };

/** When the volume's filesystem is mounted on `_data`. */
export type MountedWhen = 'always' | 'in-use' | 'never';

/** One volume type. Every step is idempotent, so start-up reconciliation simply runs them again. */
export interface VolumeKind {
  /** Status `Backing`, e.g. `ext4 image`. */
  readonly backing: string;
  readonly mountedWhen: MountedWhen;
  /** How Status measures usage: statfs of the mounted filesystem, or a (cached) tree walk. */
  readonly usageBy: 'statfs' | 'walk';
  /** Whether the content outlives its users (import accepts only those). */
  readonly keepsContent: boolean;
  /** Whether `from=` may copy this volume (a host directory is the user's, not tsvol's, to copy). */
  readonly cloneable: boolean;
  /** How a snapshot copies the volume (see snapshots.ts); undefined: the type has no snapshots. */
  readonly snapshotForm: 'image' | 'tree' | undefined;
  /**
   * At Create, before anything is made (holding {@link KIND_LOCK} when {@link locksAll}): completes and
   * checks the spec against the other volumes (`others()` copies their records: call it only when
   * needed). Returns the spec to record.
   */
  prepare(ctx: KindContext, spec: VolumeSpec, others: () => readonly VolumeRecord[]): Promise<VolumeSpec>;
  /** Makes the volume's content (its directory and `_data` exist), filled from `source` if given. */
  build(ctx: KindContext, spec: VolumeSpec, source?: BuildSource): Promise<void>;
  /** What a Mount (and start-up, for volumes in use) makes sure of. */
  activate(ctx: KindContext, spec: VolumeSpec): Promise<void>;
  /** What the last user's going away undoes. */
  release(ctx: KindContext, spec: VolumeSpec): Promise<void>;
  /** Unmounts whatever the volume has mounted (Remove, undoing a Create). */
  deactivate(ctx: KindContext, spec: VolumeSpec): Promise<void>;
  /** Where the content can be read now (a `from=` source, usage walks). */
  contentPath(ctx: KindContext, spec: VolumeSpec): string;
  /** Whether Creates of this kind are serialised with each other (they check each other's specs). */
  readonly locksAll: boolean;
}

/** The lock key Creates of a {@link VolumeKind.locksAll} kind share; no volume name can contain NUL. */
export const KIND_LOCK = '\0directories';
