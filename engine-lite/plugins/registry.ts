/**
 * @module The daemon side of plugin activation (docs/plugin-protocol.md §1.4): find a plugin, POST
 * `/Plugin.Activate`, check it implements the interface asked for, then ask the interface's
 * capabilities, once per engine-lite command (dockerd does it once per daemon lifetime). Calls go
 * through the suite's protocol client, with a timeout, and failures become PluginFailedError
 * naming the plugin.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { IpamResponses } from '../../common/protocol/ipam-api.js';
import type { NetworkResponses } from '../../common/protocol/network-api.js';
import { EngineNotFoundError, PluginFailedError } from '../errors.js';
import { findPlugin, listPluginNames, type DiscoveryOptions } from './discovery.js';

export type PluginInterface = 'NetworkDriver' | 'IpamDriver' | 'VolumeDriver';

/** Where plugins are found and how long a call may take. */
export interface PluginsOptions extends DiscoveryOptions {
  /** Per-call timeout; dockerd has none for v1 network/IPAM calls, engine-lite needs one to fail cleanly. */
  timeoutMs: number;
}

/** The protocol client, loaded on first use (node:http costs a few ms a command may not need). */
async function callPlugin<T>(socket: string, method: string, body: object | undefined, timeoutMs: number): Promise<T> {
  const client = await import('../../common/protocol/client.js');
  return client.callPlugin<T>(socket, method, body, timeoutMs);
}

/** Transport errors worth another try (the plugin may be restarting), as dockerd retries them. */
const TRANSIENT = new Set(['ECONNREFUSED', 'ENOENT', 'ECONNRESET', 'EPIPE']);
const RETRY_DELAYS_MS = [100, 300];

/** An activated plugin. */
export class PluginClient {
  readonly name: string;
  readonly socket: string;
  readonly implements: readonly string[];
  /** NetworkDriver.GetCapabilities, when it implements NetworkDriver. */
  networkCaps?: NetworkResponses['GetCapabilities'];
  /** IpamDriver.GetCapabilities, when it implements IpamDriver. */
  ipamCaps?: IpamResponses['GetCapabilities'];
  readonly #timeoutMs: number;

  constructor(name: string, socket: string, implementsList: readonly string[], timeoutMs: number) {
    this.name = name;
    this.socket = socket;
    this.implements = implementsList;
    this.#timeoutMs = timeoutMs;
  }

  /**
   * Calls `method` (e.g. `NetworkDriver.Join`) with `body` (undefined sends an empty body).
   * @throws PluginFailedError on a non-200 reply, an `Err`, a transport error or a timeout.
   */
  async call<T>(method: string, body?: object): Promise<T> {
    try {
      return await callPlugin<T>(this.socket, method, body, this.#timeoutMs);
    } catch (err) {
      throw new PluginFailedError(this.name, (err as Error).message, { cause: err });
    }
  }

  /** Like {@link call}, but a 404 (method not implemented) resolves with undefined. */
  async callOptional<T>(method: string, body?: object): Promise<T | undefined> {
    try {
      return await callPlugin<T>(this.socket, method, body, this.#timeoutMs);
    } catch (err) {
      if ((err as { status?: number }).status === 404) return undefined;
      throw new PluginFailedError(this.name, (err as Error).message, { cause: err });
    }
  }
}

/** Finds and activates plugins; each is activated at most once per process, and failures are not kept. */
export class Plugins {
  readonly #opts: PluginsOptions;
  readonly #active = new Map<string, Promise<PluginClient>>();

  constructor(opts: PluginsOptions) {
    this.#opts = opts;
  }

  /**
   * The activated plugin `name`, which must implement `iface`.
   * @throws EngineNotFoundError when no socket or spec file names it; PluginFailedError when it fails to
   * activate or does not implement `iface`.
   */
  async get(name: string, iface: PluginInterface, retries = RETRY_DELAYS_MS): Promise<PluginClient> {
    let p = this.#active.get(name);
    if (!p) {
      p = this.#activate(name, retries);
      this.#active.set(name, p);
      p.catch(() => this.#active.delete(name));
    }
    const client = await p;
    if (!client.implements.includes(iface)) {
      throw new PluginFailedError(name, `does not implement the requested driver (${iface}; it implements ${client.implements.join(', ') || 'nothing'})`);
    }
    await this.#register(client, iface);
    return client;
  }

  /** Every plugin found that implements `iface`; plugins that fail to activate are reported to `warn` and skipped. */
  async all(iface: PluginInterface, warn: (msg: string) => void): Promise<PluginClient[]> {
    const out: PluginClient[] = [];
    for (const name of await listPluginNames(this.#opts)) {
      try {
        out.push(await this.get(name, iface, []));
      } catch (err) {
        if (!(err instanceof PluginFailedError && /does not implement/.test(err.message))) warn((err as Error).message);
      }
    }
    return out;
  }

  async #activate(name: string, retries: readonly number[]): Promise<PluginClient> {
    const addr = await findPlugin(name, this.#opts);
    if (!addr) {
      const where = [this.#opts.pluginsDir, ...this.#opts.specDirs].join(', ');
      throw new EngineNotFoundError(`plugin "${name}" not found (no ${name}.sock, ${name}.spec or ${name}.json in ${where})`);
    }
    for (let attempt = 0; ; attempt++) {
      try {
        const reply = await callPlugin<{ Implements?: unknown }>(addr.socket, 'Plugin.Activate', undefined, this.#opts.timeoutMs);
        const impl = Array.isArray(reply.Implements) ? reply.Implements.filter((x): x is string => typeof x === 'string') : [];
        return new PluginClient(name, addr.socket, impl, this.#opts.timeoutMs);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        const delay = retries[attempt];
        if (code === undefined || !TRANSIENT.has(code) || delay === undefined) {
          throw new PluginFailedError(name, `activation at ${addr.socket} failed: ${(err as Error).message}`, { cause: err });
        }
        await sleep(delay);
      }
    }
  }

  /** The per-interface handshake dockerd runs when it registers a driver. */
  async #register(c: PluginClient, iface: PluginInterface): Promise<void> {
    if (iface === 'NetworkDriver' && !c.networkCaps) {
      const caps = await c.call<NetworkResponses['GetCapabilities']>('NetworkDriver.GetCapabilities');
      if (caps.Scope !== 'local' && caps.Scope !== 'global') throw new PluginFailedError(c.name, `invalid capability scope "${String(caps.Scope)}"`);
      c.networkCaps = caps;
    } else if (iface === 'IpamDriver' && !c.ipamCaps) {
      // dockerd treats a failing IpamDriver.GetCapabilities as "no capabilities".
      c.ipamCaps = await c.call<IpamResponses['GetCapabilities']>('IpamDriver.GetCapabilities').catch(() => ({
        RequiresMACAddress: false,
        RequiresRequestReplay: false,
      }));
    }
  }
}
