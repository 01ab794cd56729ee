/**
 * @module The format of a plugin's store, and upgrades. Each store carries a marker (collection
 * `meta`, key `format`); at open, {@link migrateStore} brings an older store to the current format
 * through an ordered list of steps, each applied in ONE atomic batch together with the marker it
 * reaches, so a step interrupted by a crash is either wholly done (marker moved) or not at all (run
 * again at the next start). A store newer than the code is refused: a downgrade could misread it.
 *
 * Formats: 1 is every store written before markers existed (no `meta/format`). 2 adds the marker and
 * changes no record: the record shapes of format 1 are still what the drivers read. A future change
 * of a record's shape is a new step here, written against the shape it reads.
 */
import type { Logger } from '../log.js';
import { StoreTooNewError } from './errors.js';
import type { Store, StoreOp } from './store.js';

/** A store without a marker: written before formats were recorded. */
export const UNMARKED_FORMAT = 1;

/** One upgrade: from format `to - 1` to `to`. */
export interface Migration {
  to: number;
  /** What changes, for the log. */
  description: string;
  /** The writes that bring the records to format `to`, read from `store` (at format `to - 1`). */
  ops(store: Store): Promise<StoreOp[]>;
}

/** The steps every plugin's store goes through, in order; the last one's `to` is the current format. */
export const MIGRATIONS: readonly Migration[] = [{ to: 2, description: 'format marker (records unchanged)', ops: async () => [] }];

/** The format this code writes and reads. */
export const CURRENT_FORMAT = MIGRATIONS.at(-1)!.to;

const meta = (store: Store) => store.collection<number>('meta');

/** The format recorded in `store` ({@link UNMARKED_FORMAT} when it has no marker). */
export async function storeFormat(store: Store): Promise<number> {
  return (await meta(store).get('format')) ?? UNMARKED_FORMAT;
}

export interface MigrateOptions {
  /** Names the store in messages, e.g. `ipam state in /var/lib/tsnet/ipam/db`. */
  what: string;
  log: Logger;
  /** The steps (default {@link MIGRATIONS}); `to` must count up by one from 2. */
  migrations?: readonly Migration[];
}

/**
 * Brings `store` to the last step's format, one atomic batch per step, logging each; does nothing
 * to a current store. Throws {@link StoreTooNewError} (changing nothing) for a newer one.
 */
export async function migrateStore(store: Store, opts: MigrateOptions): Promise<{ from: number; to: number }> {
  const steps = opts.migrations ?? MIGRATIONS;
  const current = steps.at(-1)?.to ?? UNMARKED_FORMAT;
  const from = await storeFormat(store);
  if (from > current) {
    throw new StoreTooNewError(
      `${opts.what} is format ${from}, newer than this tsnet understands (format ${current}): it was written by a newer version. ` +
        'Downgrades are not supported; run that version again (or restore a backup of the state directory made before the upgrade)',
    );
  }
  for (const step of steps) {
    if (step.to <= from) continue;
    const ops = await step.ops(store);
    await store.batch([...ops, meta(store).putOp('format', step.to)]);
    opts.log.info('state migrated', { store: opts.what, from: step.to - 1, to: step.to, change: step.description, writes: ops.length });
  }
  return { from, to: current };
}
