/**
 * @module The interface every tsnet mode (none, bridge, overlay, macvlan) implements. The driver
 * (network-driver/driver.ts) owns validation of the common fields, the store and locking; a mode only
 * decides what its kernel objects are and asks its kernel seam (./kernel.ts, namespace bound when the
 * seam is made, passed to the mode's factory) to make them. Every method must be idempotent: Docker
 * retries, and restore() re-runs them after a crash. The same behaviour is checked for every mode by
 * ./testing/mode.contract.ts.
 *
 * Options are read once: `parseOptions` checks the `-o` strings (pure, before anything is locked),
 * `configure` turns them with the IPAM data into the mode's typed config `C`, stored in the record
 * (records.ts); every other method reads `net.config` and never parses again.
 */
import type { Logger } from '../../common/log.js';
import type { Finding } from '../../common/finding.js';
import type { JoinResponse } from '../../common/protocol/network-api.js';
import type { EndpointRecord, ModeConfig, NetworkFacts, NetworkRecord as AnyNetworkRecord } from '../records.js';

/** The factory arguments every mode with kernel objects takes (overlay adds its cluster session). */
export interface ModeOptions<K> {
  /** The kernel seam, namespace already bound: `hostModeKernel()` in production. */
  kernel: K;
  /** The instance tag (modes/shared/instance.ts): marks this instance's kernel objects. */
  tag: string;
  log: Logger;
}

/** A network record of the mode's config. */
type NetworkRecord<C extends ModeConfig> = AnyNetworkRecord<C>;

export interface NetworkMode<C extends ModeConfig = ModeConfig> {
  readonly name: string;
  /** The `-o` options this mode accepts (besides `mode`), for validation messages. */
  readonly optionNames: readonly string[];
  /** Checks and normalises `-o` options; throws InvalidRequestError naming a bad one (an unknown one with the list of valid ones). Pure. */
  parseOptions(generic: Record<string, string>): Record<string, string>;
  /**
   * The network's typed config from its normalised options and IPAM data; called once per network, at
   * CreateNetwork. Pure. Throws InvalidRequestError when the options contradict the IPAM data.
   */
  configure(net: NetworkFacts): C;
  /** Makes the network's kernel objects (bridge, VXLAN, …). */
  createNetwork(net: NetworkRecord<C>): Promise<void>;
  /** Removes them; missing objects count as removed. */
  deleteNetwork(net: NetworkRecord<C>): Promise<void>;
  /** Prepares an endpoint; may fill fields Docker left empty (a MAC). Returns mode state to persist. */
  createEndpoint(net: NetworkRecord<C>, ep: EndpointRecord): Promise<{ mac?: string; state: Record<string, unknown> }>;
  /** Removes what createEndpoint/join made for the endpoint. */
  deleteEndpoint(net: NetworkRecord<C>, ep: EndpointRecord): Promise<void>;
  /**
   * Creates the interface Docker moves into the sandbox, and says how to configure it. `options` are
   * Join's sandbox options (`com.docker.network.portmap`, `…endpoint.exposedports`). Returns the
   * endpoint's whole mode state, which replaces what was stored.
   */
  join(net: NetworkRecord<C>, ep: EndpointRecord, options?: Record<string, unknown>): Promise<{ response: JoinResponse; state: Record<string, unknown> }>;
  /** Undoes join, while the interface may still be inside the container (Docker moves it back later). */
  leave(net: NetworkRecord<C>, ep: EndpointRecord): Promise<void>;
  /**
   * ProgramExternalConnectivity: the endpoint became its container's gateway endpoint; publish the
   * ports in `options` (docs/plugin-protocol.md §2.9). Returns the endpoint's whole mode state. A mode
   * without it answers `{}` (nothing to publish).
   */
  programExternalConnectivity?(net: NetworkRecord<C>, ep: EndpointRecord, options: Record<string, unknown>): Promise<{ state: Record<string, unknown> }>;
  /** RevokeExternalConnectivity: undoes programExternalConnectivity; returns the endpoint's whole mode state. */
  revokeExternalConnectivity?(net: NetworkRecord<C>, ep: EndpointRecord): Promise<{ state: Record<string, unknown> }>;
  /** Mode-specific data for EndpointOperInfo; called often, so cheap. */
  operInfo(net: NetworkRecord<C>, ep: EndpointRecord): Record<string, unknown>;
  /** On start-up: makes the kernel match the stored networks and endpoints, and removes what no record owns. */
  restore(nets: NetworkRecord<C>[], endpoints: EndpointRecord[]): Promise<void>;
  /** `tsnet doctor`: how the kernel differs from the stored networks and endpoints of this mode. Read-only. */
  check?(nets: NetworkRecord<C>[], endpoints: EndpointRecord[]): Promise<Finding[]>;
  /** `tsnet doctor --fix`, after restore ran: repairs what restore does not (a deleted veth of a running container). */
  repair?(nets: NetworkRecord<C>[], endpoints: EndpointRecord[]): Promise<void>;
  /** What `tsnet status` shows of a network beyond its record (overlay: VTEPs, peers, programmed entries). */
  status?(net: NetworkRecord<C>): Promise<Record<string, unknown>>;
  /** Stops background work (watches, retries) on shutdown; kernel state stays. */
  close?(): void;
}
