/**
 * @module What `tsnet doctor` reports: one finding per object whose kernel (or Docker) state differs
 * from what the suite's records say, as the plugins' `Check` calls answer it and the CLI prints it.
 */

/** One difference between what a record says must exist and what the host has. */
export interface Finding {
  /** Which plugin's records the finding is about (`tsnet`, `tsvol`, `docker`). */
  Plugin: string;
  /** The object, named as a person would look for it (`veth tsv1234 of network 1a2b3c4d5e6f`). */
  Object: string;
  Expected: string;
  Found: string;
  /** Whether `--fix` can repair it (rebuild from the store, or remove what nobody owns). */
  Fixable: boolean;
}

/** The one-line form: `tsnet: veth tsv… of network …: expected …, found …`. */
export function formatFinding(f: Finding): string {
  return `${f.Plugin}: ${f.Object}: expected ${f.Expected}, found ${f.Found}${f.Fixable ? '' : ' (not fixable by --fix)'}`;
}
