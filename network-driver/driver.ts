/**
 * @module tsnet's NetworkDriver: validates and persists networks and endpoints, serialises work per
 * network, and hands the kernel side to the network's mode. Every handler is idempotent: a repeated
 * create returns what exists, a delete or leave of something unknown succeeds (dockerd replays those
 * after restarts, docs/plugin-protocol.md §1.6).
 */
import type { Finding } from '../common/finding.js';
import { KeyedMutex } from '../common/keyed-mutex.js';
import { ipv6Disabled } from '../common/kernel/sysctl.js';
import type { Logger } from '../common/log.js';
import { ConflictError, InvalidRequestError, NotFoundError, UnsupportedError } from '../common/protocol/errors.js';
import type { EndpointRef, NetworkDriverApi } from '../common/protocol/network-api.js';
import type { Collection, Store } from '../common/store/store.js';
import type { NetworkMode } from './modes/mode.js';
import { readNetworkOptions } from './options.js';
import { endpointKey, NETWORK_RECORD_VERSION, type EndpointRecord, type NetworkFacts, type NetworkRecord } from './records.js';
import { short } from './modes/shared/names.js';


/** A network as `tsnet status` reports it. */
export interface NetworkStatus {
  net: NetworkRecord;
  endpoints: EndpointRecord[];
  /** The mode's own view (overlay: VTEP, peers, FDB and neighbour entries). */
  mode: Record<string, unknown>;
}

interface FoundEndpoint {
  net: NetworkRecord;
  ep: EndpointRecord;
  key: string;
}

/** The found endpoint, or a NotFoundError naming the endpoint and its network. */
function required(req: EndpointRef, found: FoundEndpoint | undefined): FoundEndpoint {
  if (!found) throw new NotFoundError(`endpoint ${short(req.EndpointID)} not found on network ${short(req.NetworkID)} (tsnet has no record of it)`);
  return found;
}
/** Whether a mode handed back the state it was given (then there is nothing to write: a synced write costs milliseconds). */
const sameState = (a: Record<string, unknown>, b: Record<string, unknown>) => JSON.stringify(a) === JSON.stringify(b);

export class NetworkDriver implements NetworkDriverApi {
  readonly #modes: Map<string, NetworkMode>;
  readonly #store: Store;
  readonly #networks: Collection<NetworkRecord>;
  readonly #endpoints: Collection<EndpointRecord>;
  readonly #lock = new KeyedMutex();
  readonly #log: Logger;
  readonly #ipv6Disabled: () => Promise<string | undefined>;

  /**
   * `ipv6Disabled` says why IPv6 cannot be used where the networks are made (undefined: it can); by
   * default this process's namespace is asked ({@link ipv6Disabled}).
   */
  constructor(opts: { modes: NetworkMode[]; store: Store; log: Logger; ipv6Disabled?: () => Promise<string | undefined> }) {
    this.#modes = new Map(opts.modes.map((m) => [m.name, m]));
    this.#store = opts.store;
    this.#networks = opts.store.collection<NetworkRecord>('networks');
    this.#endpoints = opts.store.collection<EndpointRecord>('endpoints');
    this.#log = opts.log;
    this.#ipv6Disabled = opts.ipv6Disabled ?? (() => ipv6Disabled());
  }

  /** Reconciles the kernel with the store, mode by mode. A failing mode is logged, not fatal. */
  async restore(): Promise<void> {
    const nets = (await this.#networks.entries()).map(([, n]) => n);
    const eps = (await this.#endpoints.entries()).map(([, e]) => e);
    const known = new Set(nets.map((n) => n.id));
    const orphans = eps.filter((e) => !known.has(e.networkId));
    if (orphans.length > 0) {
      this.#log.warn('removing endpoints of unknown networks', { endpoints: orphans.map((e) => short(e.id)) });
      await this.#store.batch(orphans.map((e) => this.#endpoints.delOp(endpointKey(e.networkId, e.id))));
    }
    for (const mode of this.#modes.values()) {
      const mine = nets.filter((n) => n.mode === mode.name);
      const ids = new Set(mine.map((n) => n.id));
      try {
        await mode.restore(mine, eps.filter((e) => ids.has(e.networkId)));
      } catch (err) {
        this.#log.warn('restore failed', { mode: mode.name, err: (err as Error).message });
      }
    }
    this.#log.info('restored', { networks: nets.length, endpoints: eps.length - orphans.length });
  }

  /** `tsnet doctor`: every mode's differences between its stored networks and endpoints and the kernel. Read-only. */
  async check(): Promise<Finding[]> {
    const { nets, eps } = await this.#all();
    const out: Finding[] = [];
    for (const mode of this.#modes.values()) {
      if (!mode.check) continue;
      const mine = nets.filter((n) => n.mode === mode.name);
      const ids = new Set(mine.map((n) => n.id));
      out.push(...(await mode.check(mine, eps.filter((e) => ids.has(e.networkId)))));
    }
    return out;
  }

  /**
   * `tsnet doctor --fix`: the start-up reconcile again (rebuilds what the store describes, removes this
   * instance's leftovers), then each mode's repair of what reconcile leaves (re-made veths, strays).
   * Holds every network's lock, so no request changes a network meanwhile.
   */
  async repair(): Promise<void> {
    const work = async () => {
      await this.restore();
      const { nets, eps } = await this.#all();
      for (const mode of this.#modes.values()) {
        const mine = nets.filter((n) => n.mode === mode.name);
        const ids = new Set(mine.map((n) => n.id));
        await mode.repair?.(mine, eps.filter((e) => ids.has(e.networkId)));
      }
    };
    const ids = (await this.#networks.entries()).map(([id]) => id).sort();
    await ids.reduce<() => Promise<void>>((inner, id) => () => this.#lock.run(id, inner), work)();
  }

  async #all(): Promise<{ nets: NetworkRecord[]; eps: EndpointRecord[] }> {
    return { nets: (await this.#networks.entries()).map(([, n]) => n), eps: (await this.#endpoints.entries()).map(([, e]) => e) };
  }

  /**
   * Every network (or the one whose ID starts with `idPrefix`) with its endpoints and its mode's status;
   * `details` false: without the mode's status (it reads the kernel), `mode` is then `{}`.
   */
  async status(idPrefix = '', details = true): Promise<NetworkStatus[]> {
    const nets = (await this.#networks.entries()).map(([, n]) => n).filter((n) => n.id.startsWith(idPrefix));
    return Promise.all(
      nets.map(async (net) => ({
        net,
        endpoints: await this.#endpointsOf(net.id),
        mode: (details ? await this.#modes.get(net.mode)?.status?.(net) : undefined) ?? {},
      })),
    );
  }

  /** Stops the modes' background work. */
  close(): void {
    for (const mode of this.#modes.values()) mode.close?.();
  }

  async getCapabilities() {
    return { Scope: 'local' as const, ConnectivityScope: 'local' as const, GwAllocChecker: false };
  }

  async gwAllocCheck() {
    return { SkipIPv4: false, SkipIPv6: false };
  }

  async createNetwork(req: Parameters<NetworkDriverApi['createNetwork']>[0]) {
    const opts = readNetworkOptions(req.Options);
    const mode = this.#modes.get(opts.mode);
    if (!mode) {
      throw new InvalidRequestError(`unknown mode "${opts.mode}" (available: ${[...this.#modes.keys()].join(', ')})`);
    }
    const options = mode.parseOptions(opts.generic);
    return this.#lock.run(req.NetworkID, async () => {
      const existing = await this.#networks.get(req.NetworkID);
      if (existing) {
        if (existing.mode !== mode.name) {
          throw new ConflictError(`network ${short(req.NetworkID)} already exists with mode ${existing.mode}`);
        }
        await mode.createNetwork(existing);
        return {};
      }
      const noIpv6 = opts.enableIpv6 || req.IPv6Data.length > 0 ? await this.#ipv6Disabled() : undefined;
      if (noIpv6 !== undefined) {
        throw new InvalidRequestError(`${noIpv6}: an IPv6 network (--ipv6) cannot work here; create it without --ipv6, or turn IPv6 on first`);
      }
      const facts: NetworkFacts = {
        id: req.NetworkID,
        mode: mode.name,
        options,
        internal: opts.internal,
        enableIpv6: opts.enableIpv6,
        ipv4: req.IPv4Data,
        ipv6: req.IPv6Data,
        createdAt: new Date().toISOString(),
      };
      // The one parse of the network's config: every later call reads it from the record.
      const net: NetworkRecord = { v: NETWORK_RECORD_VERSION, ...facts, config: mode.configure(facts) };
      await mode.createNetwork(net);
      try {
        await this.#networks.put(net.id, net);
      } catch (err) {
        await mode.deleteNetwork(net).catch(() => undefined);
        throw err;
      }
      this.#log.info('network created', { NetworkID: short(net.id), mode: mode.name });
      return {};
    });
  }

  async deleteNetwork(req: { NetworkID: string }) {
    return this.#lock.run(req.NetworkID, async () => {
      const net = await this.#networks.get(req.NetworkID);
      if (!net) return {};
      const eps = await this.#endpointsOf(net.id);
      const mode = this.#modeOf(net);
      for (const ep of eps) await mode.deleteEndpoint(net, ep);
      await mode.deleteNetwork(net);
      await this.#store.batch([...eps.map((e) => this.#endpoints.delOp(endpointKey(net.id, e.id))), this.#networks.delOp(net.id)]);
      this.#log.info('network deleted', { NetworkID: short(net.id), staleEndpoints: eps.length });
      return {};
    });
  }

  async allocateNetwork(): Promise<never> {
    throw new UnsupportedError('tsnet has local scope: AllocateNetwork is only sent to global-scope drivers by a swarm manager');
  }

  async freeNetwork(): Promise<never> {
    throw new UnsupportedError('tsnet has local scope: FreeNetwork is only sent to global-scope drivers by a swarm manager');
  }

  async createEndpoint(req: Parameters<NetworkDriverApi['createEndpoint']>[0]) {
    return this.#lock.run(req.NetworkID, async () => {
      const net = await this.#network(req.NetworkID);
      const key = endpointKey(net.id, req.EndpointID);
      const existing = await this.#endpoints.get(key);
      if (existing) return existing.mac !== '' && req.Interface.MacAddress === '' ? { Interface: { MacAddress: existing.mac } } : {};
      const ep: EndpointRecord = {
        v: 1,
        networkId: net.id,
        id: req.EndpointID,
        address: req.Interface.Address,
        addressIpv6: req.Interface.AddressIPv6,
        mac: req.Interface.MacAddress,
        state: {},
      };
      const mode = this.#modeOf(net);
      const made = await mode.createEndpoint(net, ep);
      const filledMac = ep.mac === '' && made.mac !== undefined;
      const stored: EndpointRecord = { ...ep, mac: filledMac ? made.mac! : ep.mac, state: made.state };
      try {
        await this.#endpoints.put(key, stored);
      } catch (err) {
        await mode.deleteEndpoint(net, stored).catch(() => undefined);
        throw err;
      }
      // Docker rejects any field it already set, even with the same value (docs/plugin-protocol.md §2.6).
      return filledMac ? { Interface: { MacAddress: stored.mac } } : {};
    });
  }

  async deleteEndpoint(req: EndpointRef) {
    return this.#withEndpoint(req, async (found) => {
      if (!found) return {};
      await this.#modeOf(found.net).deleteEndpoint(found.net, found.ep);
      await this.#endpoints.del(found.key);
      return {};
    });
  }

  async endpointOperInfo(req: EndpointRef) {
    const net = await this.#networks.get(req.NetworkID);
    const ep = await this.#endpoints.get(endpointKey(req.NetworkID, req.EndpointID));
    if (!net || !ep) return { Value: {} };
    return { Value: { mode: net.mode, ...this.#modeOf(net).operInfo(net, ep) } };
  }

  async join(req: Parameters<NetworkDriverApi['join']>[0]) {
    return this.#withEndpoint(req, async (found) => {
      const { net, ep, key } = required(req, found);
      const joined = await this.#modeOf(net).join(net, { ...ep, sandboxKey: req.SandboxKey }, req.Options);
      await this.#endpoints.put(key, { ...ep, sandboxKey: req.SandboxKey, state: joined.state });
      return joined.response;
    });
  }

  async leave(req: EndpointRef) {
    return this.#withEndpoint(req, async (found) => {
      if (!found) return {};
      await this.#modeOf(found.net).leave(found.net, found.ep);
      const { sandboxKey: _left, ...rest } = found.ep;
      await this.#endpoints.put(found.key, rest);
      return {};
    });
  }

  /** Hands the endpoint's port bindings to its mode, which publishes them; a mode without publishing answers `{}`. */
  async programExternalConnectivity(req: Parameters<NetworkDriverApi['programExternalConnectivity']>[0]) {
    return this.#withEndpoint(req, async (found) => {
      const { net, ep, key } = required(req, found);
      const mode = this.#modeOf(net);
      if (mode.programExternalConnectivity) await this.#keepState(key, ep, await mode.programExternalConnectivity(net, ep, req.Options));
      return {};
    });
  }

  /** Undoes programExternalConnectivity. Idempotent: an unknown network or endpoint succeeds (dockerd replays it). */
  async revokeExternalConnectivity(req: EndpointRef) {
    return this.#withEndpoint(req, async (found) => {
      const mode = found && this.#modeOf(found.net);
      if (found && mode?.revokeExternalConnectivity) await this.#keepState(found.key, found.ep, await mode.revokeExternalConnectivity(found.net, found.ep));
      return {};
    });
  }

  async discoverNew() {
    return {};
  }

  async discoverDelete() {
    return {};
  }

  /**
   * Runs `fn` under the network's lock with the stored network and endpoint, or `undefined` when
   * either is unknown (deletes and leaves answer that with success; others use {@link required}).
   */
  #withEndpoint<T>(req: EndpointRef, fn: (found: FoundEndpoint | undefined) => Promise<T>): Promise<T> {
    return this.#lock.run(req.NetworkID, async () => {
      const key = endpointKey(req.NetworkID, req.EndpointID);
      const [net, ep] = await Promise.all([this.#networks.get(req.NetworkID), this.#endpoints.get(key)]);
      return fn(net && ep ? { net, ep, key } : undefined);
    });
  }

  /** Stores the mode's new endpoint state, only when it changed. */
  async #keepState(key: string, ep: EndpointRecord, { state }: { state: Record<string, unknown> }): Promise<void> {
    if (!sameState(ep.state, state)) await this.#endpoints.put(key, { ...ep, state });
  }

  async #network(id: string): Promise<NetworkRecord> {
    const net = await this.#networks.get(id);
    if (!net) throw new NotFoundError(`network ${short(id)} not found (tsnet has no record of it)`);
    return net;
  }

  async #endpointsOf(networkId: string): Promise<EndpointRecord[]> {
    return (await this.#endpoints.entries(`${networkId}/`)).map(([, e]) => e);
  }

  #modeOf(net: NetworkRecord): NetworkMode {
    const mode = this.#modes.get(net.mode);
    if (!mode) throw new UnsupportedError(`network ${short(net.id)} uses mode ${net.mode}, which this build does not have`);
    return mode;
  }
}
