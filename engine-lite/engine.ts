/**
 * @module What every engine-lite command works with: the state directory, the plugins, the
 * defaults that stand in for dockerd's built-in drivers, and where to report warnings.
 */
import { Plugins } from './plugins/registry.js';
import { selfRef, type ProcRef } from './state/proc-ref.js';
import { State } from './state/store.js';

/** Options every command takes (the CLI's global flags). */
export interface EngineOptions {
  stateDir: string;
  pluginsDir: string;
  specDirs: readonly string[];
  pluginTimeoutMs: number;
}

/**
 * Drivers used when none is named. engine-lite has no built-in bridge, IPAM or `local` volume
 * driver; the suite's plugins take their place.
 */
export const DEFAULT_DRIVERS = { network: 'tsnet', ipam: 'tsipam', volume: 'tsvol' } as const;

/** One command's view of the engine. */
export class Engine {
  readonly options: EngineOptions;
  readonly state: State;
  readonly plugins: Plugins;
  /** This process, as recorded when it owns a container or network. */
  readonly self: ProcRef;
  readonly #warn: (msg: string) => void;

  private constructor(options: EngineOptions, state: State, warn: (msg: string) => void) {
    this.options = options;
    this.state = state;
    this.plugins = new Plugins({ pluginsDir: options.pluginsDir, specDirs: options.specDirs, timeoutMs: options.pluginTimeoutMs });
    this.self = selfRef();
    this.#warn = warn;
  }

  /** Opens the state directory (creating it if needed). */
  static async open(options: EngineOptions, warn: (msg: string) => void): Promise<Engine> {
    return new Engine(options, await State.open(options.stateDir), warn);
  }

  /** Reports something that went wrong but did not stop the command (docker logs these in the daemon). */
  warn(msg: string): void {
    this.#warn(msg);
  }
}
