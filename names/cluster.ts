/**
 * @module Names of overlay endpoints shared across hosts through etcd:
 * `/tsnet/v1/names/<vni>/<hostId>/<endpointId>` = `{names, ip?, ip6?, container}`, on the host's
 * live lease, so a host gone past its TTL drops its names everywhere. Each host publishes its own
 * (put on change, deleted on leave, put again after a lease renewal) and watches the whole prefix
 * into the registry (its own keys skipped: they are local already).
 */
import { errorFields, type Logger } from '../common/log.js';
import { KEY_ROOT, type ClusterSession, type KeyValue, type Watch } from '../common/cluster/types.js';
import type { NameEntry } from './records.js';
import type { NameRegistry } from './registry.js';

export const NAMES_PREFIX = `${KEY_ROOT}names/`;

interface Published {
  names: string[];
  ip?: string;
  ip6?: string;
  container: string;
}

const keyOf = (vni: number, host: string, endpointId: string) => `${NAMES_PREFIX}${vni}/${host}/${endpointId}`;

/** Reads a names key; undefined for keys of another shape. */
export function parseNameKey(key: string): { vni: number; host: string; endpointId: string } | undefined {
  const m = /^(\d+)\/([^/]+)\/([^/]+)$/.exec(key.slice(NAMES_PREFIX.length));
  return key.startsWith(NAMES_PREFIX) && m ? { vni: Number(m[1]), host: m[2]!, endpointId: m[3]! } : undefined;
}

function entryOf(kv: Pick<KeyValue, 'key' | 'value'>): { scope: string; entry: NameEntry } | undefined {
  const k = parseNameKey(kv.key);
  if (!k) return undefined;
  try {
    const v = JSON.parse(kv.value) as Published;
    if (!Array.isArray(v.names) || typeof v.container !== 'string') return undefined;
    return {
      scope: `vni:${k.vni}`,
      entry: { names: v.names.filter((n) => typeof n === 'string'), endpointId: k.endpointId, containerId: v.container, host: k.host, ...(v.ip && { ipv4: v.ip }), ...(v.ip6 && { ipv6: v.ip6 }) },
    };
  } catch {
    return undefined;
  }
}

export class NameCluster {
  readonly #session: ClusterSession;
  readonly #registry: NameRegistry;
  readonly #log: Logger;
  /** What this host has put: key → value. */
  #published = new Map<string, string>();
  #watch: Watch | undefined;
  #syncing: Promise<void> = Promise.resolve();

  constructor(opts: { session: ClusterSession; registry: NameRegistry; log: Logger }) {
    this.#session = opts.session;
    this.#registry = opts.registry;
    this.#log = opts.log;
  }

  /** Reads every other host's names, then watches for changes; puts ours again after a lease renewal. */
  async start(): Promise<void> {
    await this.#reload();
    this.#session.onRenewed(async () => {
      const all = [...this.#published];
      this.#published.clear();
      for (const [key, value] of all) await this.#put(key, value);
    });
  }

  /** Puts and deletes this host's keys so that etcd holds exactly the registry's local overlay entries. */
  publish(): Promise<void> {
    this.#syncing = this.#syncing.then(() => this.#publish()).catch((err: unknown) => this.#log.warn('publishing names failed; retrying at the next refresh', errorFields(err)));
    return this.#syncing;
  }

  close(): void {
    this.#watch?.close();
  }

  async #publish(): Promise<void> {
    const want = new Map<string, string>();
    for (const scope of this.#registry.localScopes()) {
      if (!scope.startsWith('vni:')) continue;
      const vni = Number(scope.slice(4));
      for (const e of this.#registry.localEntries(scope)) {
        const v: Published = { names: e.names, container: e.containerId, ...(e.ipv4 && { ip: e.ipv4 }), ...(e.ipv6 && { ip6: e.ipv6 }) };
        want.set(keyOf(vni, this.#session.hostId, e.endpointId), JSON.stringify(v));
      }
    }
    for (const [key, value] of want) if (this.#published.get(key) !== value) await this.#put(key, value);
    for (const key of [...this.#published.keys()]) {
      if (want.has(key)) continue;
      await this.#session.client.delete(key);
      this.#published.delete(key);
    }
  }

  async #put(key: string, value: string): Promise<void> {
    await this.#session.client.put(key, value, { lease: this.#session.liveLease() });
    this.#published.set(key, value);
  }

  #apply(kv: Pick<KeyValue, 'key' | 'value'>, deleted: boolean): void {
    const k = parseNameKey(kv.key);
    if (!k || k.host === this.#session.hostId) return;
    const scope = `vni:${k.vni}`;
    if (deleted) return this.#registry.deleteRemote(scope, kv.key);
    const e = entryOf(kv);
    if (e) this.#registry.putRemote(e.scope, kv.key, e.entry);
    else this.#log.warn('ignored a names key that cannot be read', { key: kv.key });
  }

  async #reload(): Promise<void> {
    this.#watch?.close();
    const { kvs, revision } = await this.#session.client.range(NAMES_PREFIX);
    this.#registry.clearRemote();
    for (const kv of kvs) this.#apply(kv, false);
    this.#watch = this.#session.client.watchPrefix(NAMES_PREFIX, revision + 1, {
      onEvents: (events) => {
        for (const ev of events) this.#apply(ev.kv, ev.type === 'delete');
      },
      onReset: () => void this.#reload().catch((err: unknown) => this.#log.warn('re-reading the names in etcd failed', errorFields(err))),
    });
  }
}
