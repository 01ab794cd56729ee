/**
 * @module Host ports published by this plugin instance, across all its networks, so that two endpoints
 * never get the same one. Rebuilt from the store on restore. Checking and reserving happen in one
 * synchronous call, so concurrent requests (different networks run in parallel) cannot both win.
 */

/** A published host port: `hostIp` `''` means every address of the family. */
export interface PortKey {
  family: 4 | 6;
  proto: 'tcp' | 'udp' | 'sctp';
  hostIp: string;
  hostPort: number;
}

/** Who holds a port. */
export interface PortHolder {
  networkId: string;
  endpointId: string;
}

interface Entry extends PortHolder {
  hostIp: string;
}

const slot = (k: PortKey) => `${k.family}/${k.proto}/${k.hostPort}`;

export class PortTable {
  readonly #slots = new Map<string, Entry[]>();

  /**
   * Reserves `key` for `holder` unless another endpoint holds the same port on the same address, or on
   * every address (either side `''`). Returns the conflicting holder, or undefined when reserved.
   * Reserving again for the same endpoint is a no-op.
   */
  reserve(key: PortKey, holder: PortHolder): PortHolder | undefined {
    const entries = this.#slots.get(slot(key)) ?? [];
    const clash = entries.find((e) => e.endpointId !== holder.endpointId && (e.hostIp === '' || key.hostIp === '' || e.hostIp === key.hostIp));
    if (clash) return { networkId: clash.networkId, endpointId: clash.endpointId };
    if (!entries.some((e) => e.endpointId === holder.endpointId && e.hostIp === key.hostIp)) {
      entries.push({ ...holder, hostIp: key.hostIp });
      this.#slots.set(slot(key), entries);
    }
    return undefined;
  }

  /** Releases `key` if `endpointId` holds it. */
  release(key: PortKey, endpointId: string): void {
    const rest = (this.#slots.get(slot(key)) ?? []).filter((e) => !(e.endpointId === endpointId && e.hostIp === key.hostIp));
    if (rest.length > 0) this.#slots.set(slot(key), rest);
    else this.#slots.delete(slot(key));
  }

  /** Forgets everything (before restore refills the table). */
  clear(): void {
    this.#slots.clear();
  }
}
