/**
 * @module The names the responder answers from, and who may see them. Local entries (this host's
 * endpoints, rebuilt on every refresh) and remote ones (other hosts' overlay endpoints, from the
 * cluster watch) are kept by scope. An asker is known by its source address: the local endpoint(s)
 * holding it give the container, and the container's endpoints give every scope it may look into (a
 * container on two networks sees both). An address that no local endpoint holds, or that endpoints
 * of two containers hold (overlapping subnets), sees no names at all: never a leak between networks.
 * Every lookup is synchronous and in memory.
 */
import type { Logger } from '../common/log.js';
import { dnsName, type NameEntry } from './records.js';
import type { SourceName } from './sources.js';

/** One local endpoint, joined: the network's scope and its names as the sources gave them. */
export interface LocalEndpoint extends SourceName {
  scope: string;
}

/** What a name lookup found: `undefined` when the name is not ours (forward it). */
export interface Found {
  /** Addresses of the asked family (empty: the name exists, with no address of that family). */
  addresses: string[];
}

export class NameRegistry {
  readonly #log: Logger;
  readonly #hostId: string;
  /** scope → entries, local ones. */
  #local = new Map<string, NameEntry[]>();
  /** scope → key → entry, other hosts' (overlays only). */
  readonly #remote = new Map<string, Map<string, NameEntry>>();
  /** address → container IDs holding it locally. */
  #holders = new Map<string, Set<string>>();
  /** container ID → scopes it is on locally. */
  #scopesOf = new Map<string, Set<string>>();
  readonly #warned = new Set<string>();

  constructor(opts: { log: Logger; hostId: string }) {
    this.#log = opts.log;
    this.#hostId = opts.hostId;
  }

  /** Replaces the local entries; names that are not DNS names are dropped (warned about once each). */
  setLocal(endpoints: readonly LocalEndpoint[]): void {
    const local = new Map<string, NameEntry[]>();
    const holders = new Map<string, Set<string>>();
    const scopesOf = new Map<string, Set<string>>();
    for (const e of endpoints) {
      const entry: NameEntry = {
        names: this.#valid(e.names),
        endpointId: e.endpointId,
        containerId: e.containerId,
        host: this.#hostId,
        ...(e.ipv4 !== undefined && { ipv4: e.ipv4 }),
        ...(e.ipv6 !== undefined && { ipv6: e.ipv6 }),
      };
      local.set(e.scope, [...(local.get(e.scope) ?? []), entry]);
      for (const ip of [e.ipv4, e.ipv6]) if (ip !== undefined) holders.set(ip, (holders.get(ip) ?? new Set()).add(e.containerId));
      scopesOf.set(e.containerId, (scopesOf.get(e.containerId) ?? new Set()).add(e.scope));
    }
    this.#local = local;
    this.#holders = holders;
    this.#scopesOf = scopesOf;
  }

  /** The local entries of a scope (what this host publishes for an overlay). */
  localEntries(scope: string): NameEntry[] {
    return this.#local.get(scope) ?? [];
  }

  /** Every scope with local entries. */
  localScopes(): string[] {
    return [...this.#local.keys()];
  }

  /** Adds or replaces another host's entry (`key` is unique per endpoint); names are checked again. */
  putRemote(scope: string, key: string, entry: NameEntry): void {
    const names = this.#valid(entry.names);
    let m = this.#remote.get(scope);
    if (!m) this.#remote.set(scope, (m = new Map()));
    m.set(key, { ...entry, names });
  }

  deleteRemote(scope: string, key: string): void {
    const m = this.#remote.get(scope);
    m?.delete(key);
    if (m?.size === 0) this.#remote.delete(scope);
  }

  /** Drops every remote entry (before a full re-read of the cluster). */
  clearRemote(): void {
    this.#remote.clear();
  }

  /** How many entries are known: local and remote. */
  counts(): { local: number; remote: number } {
    let local = 0;
    let remote = 0;
    for (const l of this.#local.values()) local += l.length;
    for (const m of this.#remote.values()) remote += m.size;
    return { local, remote };
  }

  /** The scopes the container holding `source` may look into; empty for a stranger or an ambiguous address. */
  scopesOfAsker(source: string): Set<string> {
    const holders = this.#holders.get(source);
    if (!holders || holders.size !== 1) return new Set();
    return this.#scopesOf.get([...holders][0]!) ?? new Set();
  }

  /** Looks `name` up for `source`, in the family asked; undefined when no scope of the asker has it. */
  lookup(source: string, name: string, family: 4 | 6): Found | undefined {
    const n = name.toLowerCase().replace(/\.$/, '');
    let found: Found | undefined;
    for (const e of this.#entries(this.scopesOfAsker(source))) {
      if (!e.names.includes(n)) continue;
      found ??= { addresses: [] };
      const ip = family === 4 ? e.ipv4 : e.ipv6;
      if (ip !== undefined && !found.addresses.includes(ip)) found.addresses.push(ip);
    }
    return found;
  }

  /** The names (each entry's first) of `ip` for `source`; undefined when no scope of the asker has it. */
  reverse(source: string, ip: string): string[] | undefined {
    const out: string[] = [];
    for (const e of this.#entries(this.scopesOfAsker(source))) {
      if ((e.ipv4 === ip || e.ipv6 === ip) && e.names[0] !== undefined && !out.includes(e.names[0])) out.push(e.names[0]);
    }
    return out.length > 0 ? out : undefined;
  }

  *#entries(scopes: Set<string>): Generator<NameEntry> {
    for (const s of scopes) {
      yield* this.#local.get(s) ?? [];
      yield* this.#remote.get(s)?.values() ?? [];
    }
  }

  #valid(names: readonly string[]): string[] {
    const out: string[] = [];
    for (const raw of names) {
      const n = dnsName(raw);
      if (n === undefined) {
        if (!this.#warned.has(raw)) {
          if (this.#warned.size >= 1000) this.#warned.clear(); // bounded: a flood of bad names cannot grow it
          this.#warned.add(raw);
          this.#log.warn('name skipped: not a valid DNS name (labels of letters, digits, "-", "_", at most 63 characters)', { name: raw });
        }
      } else if (!out.includes(n)) out.push(n);
    }
    return out;
  }
}
