/**
 * @module The network plugin's store format steps: the common ones (common/store/format.ts), then its
 * own. Format 3 turns every network record of version 1 (the `-o` options as strings, parsed again by
 * every phase) into version 2, which adds the mode's typed `config` (records.ts), parsed here once with
 * the modes' own `configure` functions, as CreateNetwork does for a new network. Endpoint records are
 * unchanged. A step is one atomic batch (see migrateStore): a crash leaves all records at 1 or all at 2.
 */
import { MIGRATIONS, type Migration } from '../common/store/format.js';
import type { Store } from '../common/store/store.js';
import { configureBridge } from './modes/bridge-core/options.js';
import { configureMacvlan } from './modes/macvlan/options.js';
import { configureNone } from './modes/none/none-mode.js';
import { configureOverlay } from './modes/overlay/options.js';
import { NETWORK_RECORD_VERSION, type ModeConfig, type NetworkFacts, type NetworkRecord } from './records.js';
import { short } from './modes/shared/names.js';

/** A network record as version 1 wrote it: no `config`. */
type NetworkRecordV1 = NetworkFacts & { v: 1 };

/** Each mode's config reader (what its NetworkMode.configure is). */
const CONFIGURE: Readonly<Record<string, (net: NetworkFacts) => ModeConfig>> = {
  bridge: configureBridge,
  overlay: configureOverlay,
  macvlan: configureMacvlan,
  none: configureNone,
};

/** The record at version 2. @throws Error naming the network when its mode is unknown or its stored options no longer read (the state was edited). */
export function networkRecordV2(old: NetworkRecordV1): NetworkRecord {
  const { v: _v1, ...facts } = old;
  const configure = CONFIGURE[facts.mode];
  if (!configure) throw new Error(`network ${short(facts.id)} has mode "${facts.mode}", which this tsnet does not have: its record cannot be upgraded`);
  try {
    return { v: NETWORK_RECORD_VERSION, ...facts, config: configure(facts) };
  } catch (err) {
    throw new Error(`network ${short(facts.id)}: its stored options do not read (${(err as Error).message}); the record cannot be upgraded`, { cause: err });
  }
}

/** Format 3: network records of version 1 become version 2. */
const networkConfigs: Migration = {
  to: 3,
  description: 'network records keep their mode config, parsed once (network record v2)',
  async ops(store: Store) {
    const networks = store.collection<NetworkRecordV1 | NetworkRecord>('networks');
    return (await networks.entries()).flatMap(([id, net]) => (net.v === 1 ? [networks.putOp(id, networkRecordV2(net))] : []));
  },
};

/** Every step the network plugin's store goes through, in order. */
export const NETWORK_MIGRATIONS: readonly Migration[] = [...MIGRATIONS, networkConfigs];
