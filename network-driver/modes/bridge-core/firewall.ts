/**
 * @module Applies bridge mode's firewall plans (firewall-plan.ts) and owns the life of the shared part:
 * made when the first network needs it, removed with the last, rebuilt whole on restore. Every change
 * is one nftables transaction; the iptables hand-off chain is touched only when the shared part is made
 * or removed. Changes are serialised, so a network being created never races the table's removal.
 */
import { KeyedMutex } from '../../../common/keyed-mutex.js';
import {
  addNetworkScript,
  addPortsScript,
  baseScript,
  deleteTableScript,
  handoff,
  rebuildScript,
  removeNetworkScript,
  removePortsScript,
  type FirewallNames,
  type NetworkFirewall,
  type PortRule,
} from './firewall-plan.js';
import type { ModeKernel } from '../kernel.js';

const FAMILIES = [4, 6] as const;

export class BridgeFirewall {
  readonly names: FirewallNames;
  readonly #kernel: ModeKernel;
  readonly #lock = new KeyedMutex();
  /** Bridges of the networks in the table; the shared part exists exactly when this is non-empty. */
  readonly #bridges = new Set<string>();

  constructor(kernel: ModeKernel, names: FirewallNames) {
    this.#kernel = kernel;
    this.names = names;
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    return this.#lock.run('firewall', fn);
  }

  async #ensureHandoff(): Promise<void> {
    const { chain, jump } = handoff(this.names);
    for (const family of FAMILIES) await this.#kernel.applyChains([chain], [jump], family);
  }

  async #teardown(): Promise<void> {
    await this.#kernel.nft(deleteTableScript(this.names));
    for (const family of FAMILIES) await this.#kernel.deleteChains([this.names.handoffChain], family);
  }

  /** Adds a network (making the shared part first if it is the first). Idempotent. */
  addNetwork(net: NetworkFirewall): Promise<void> {
    return this.#serial(async () => {
      const first = this.#bridges.size === 0;
      if (first) await this.#ensureHandoff();
      await this.#kernel.nft([...(first ? baseScript(this.names) : []), ...addNetworkScript(this.names, net)]);
      this.#bridges.add(net.bridge);
    });
  }

  /** Removes a network; with the last one, removes the table and the hand-off chain too. Idempotent. */
  removeNetwork(bridge: string): Promise<void> {
    return this.#serial(async () => {
      if (this.#bridges.size === 1 && this.#bridges.has(bridge)) {
        await this.#teardown();
      } else {
        await this.#kernel.nft(removeNetworkScript(this.names, bridge));
      }
      this.#bridges.delete(bridge);
    });
  }

  /** Publishes ports (DNAT map elements). Idempotent for identical mappings. */
  publish(ports: readonly PortRule[]): Promise<void> {
    return this.#serial(() => this.#kernel.nft(addPortsScript(this.names, ports)));
  }

  /** Unpublishes ports; missing ones count as removed. */
  unpublish(ports: readonly PortRule[]): Promise<void> {
    return this.#serial(() => this.#kernel.nft(removePortsScript(this.names, ports)));
  }

  /**
   * Makes the firewall exactly these networks and ports, replacing the table in one transaction, or
   * removes it all when there are no networks. Used on start-up: it also drops whatever a crash left.
   */
  rebuild(nets: readonly NetworkFirewall[], ports: readonly PortRule[]): Promise<void> {
    return this.#serial(async () => {
      this.#bridges.clear();
      if (nets.length === 0) {
        await this.#teardown();
        return;
      }
      await this.#ensureHandoff();
      await this.#kernel.nft(rebuildScript(this.names, nets, ports));
      for (const net of nets) this.#bridges.add(net.bridge);
    });
  }
}
