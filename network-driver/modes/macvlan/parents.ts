/**
 * @module Which macvlan network uses which parent link, in which mode, with which endpoints: the
 * facts that decide whether a network may share its parent (passthru takes a parent alone and
 * carries one container) and when a VLAN sub-interface tsnet made has lost its last network. Kept in
 * memory, filled by createNetwork and rebuilt by restore from the records.
 */
import { ConflictError } from '../../../common/protocol/errors.js';
import { short } from '../shared/names.js';
import type { MacvlanModeName } from './options.js';

interface Use {
  /** The `parent` option (one name per parent link: `eth1` and `eth1.10` are different links). */
  parent: string;
  mode: MacvlanModeName;
  endpoints: Set<string>;
}

/** See the module comment. Callers check and then add across awaits, so the mode serialises network create, delete and restore. */
export class ParentRegistry {
  readonly #nets = new Map<string, Use>();

  /**
   * Refuses a network that cannot take `parent` in `mode`: passthru on a parent another network uses, or
   * any network on a parent a passthru network holds. The network itself does not count against itself.
   * @throws ConflictError naming the other network.
   */
  checkShare(networkId: string, parent: string, mode: MacvlanModeName): void {
    for (const [other, use] of this.#nets) {
      if (other === networkId || use.parent !== parent) continue;
      if (mode === 'passthru') {
        throw new ConflictError(`parent "${parent}" is already used by network ${short(other)} (${use.mode}); passthru needs the parent to itself`);
      }
      if (use.mode === 'passthru') {
        throw new ConflictError(`parent "${parent}" is held by passthru network ${short(other)}; remove it or choose another parent`);
      }
    }
  }

  /** Records that `networkId` uses `parent` in `mode`. Idempotent: endpoints already recorded are kept. */
  add(networkId: string, parent: string, mode: MacvlanModeName): void {
    const use = this.#nets.get(networkId);
    this.#nets.set(networkId, { parent, mode, endpoints: use?.endpoints ?? new Set() });
  }

  /** Forgets the network. */
  remove(networkId: string): void {
    this.#nets.delete(networkId);
  }

  /** Whether any network (other than `exceptNetworkId`) still uses `parent`. */
  inUse(parent: string, exceptNetworkId?: string): boolean {
    return [...this.#nets].some(([id, use]) => id !== exceptNetworkId && use.parent === parent);
  }

  /**
   * Refuses a second endpoint on a passthru network (the kernel allows one macvlan on a passthru
   * parent), and records the endpoint.
   * @throws ConflictError naming the endpoint that holds the parent.
   */
  addEndpoint(networkId: string, endpointId: string): void {
    const use = this.#nets.get(networkId);
    if (!use) return;
    const holder = [...use.endpoints].find((e) => e !== endpointId);
    if (use.mode === 'passthru' && holder !== undefined) {
      throw new ConflictError(`network ${short(networkId)} is passthru: parent "${use.parent}" carries one container, and endpoint ${short(holder)} has it`);
    }
    use.endpoints.add(endpointId);
  }

  /** Forgets the endpoint. */
  removeEndpoint(networkId: string, endpointId: string): void {
    this.#nets.get(networkId)?.endpoints.delete(endpointId);
  }
}
