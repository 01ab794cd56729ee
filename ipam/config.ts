/**
 * @module Where tsipam's default pools come from. `tsnet serve`'s flags belong to the lead, so tsipam
 * reads them from the environment, else from `<stateDir>/default-pools.json`, else uses Docker's lists:
 *
 * - `TSIPAM_DEFAULT_POOLS=10.128.0.0/9:24,fd00::/8:64`: the local space's pools, tried in order;
 * - `TSIPAM_GLOBAL_DEFAULT_POOLS=…`: the same for the global space;
 * - `default-pools.json`: `{"local": ["10.128.0.0/9:24", "docker"], "global": ["10.0.0.0/8:24"]}`.
 *
 * A list replaces Docker's defaults for its space, as dockerd's `default-address-pools` does; the entry
 * `docker` splices Docker's defaults in, and a family the list does not mention keeps Docker's pools.
 */
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ADDRESS_SPACES, type AddressSpace } from './core/requests.js';
import { DOCKER_GLOBAL_POOLS, DOCKER_LOCAL_POOLS, DOCKER_TOKEN, parseDefaultPool, resolveDefaultPools, ulaDefaultPool, type DefaultPool } from './core/default-pools.js';

/** Environment variable with the local space's default pools, comma-separated. */
export const DEFAULT_POOLS_ENV = 'TSIPAM_DEFAULT_POOLS';
/** Environment variable with the global space's default pools, comma-separated. */
export const GLOBAL_DEFAULT_POOLS_ENV = 'TSIPAM_GLOBAL_DEFAULT_POOLS';
/** File in the plugin's state directory with both lists, read when the variables are unset. */
export const DEFAULT_POOLS_FILE = 'default-pools.json';

/** The configured lists (`BASE:SIZE` entries or `docker`); an absent list means Docker's defaults. */
export interface DefaultPoolsConfig {
  local?: string[];
  global?: string[];
}

/** Raised for a configuration that does not parse; the plugin then refuses to start. */
export class IpamConfigError extends Error {
  readonly code = 'ERR_IPAM_CONFIG';
}

/** Resolves `config` into each space's pools; `hostIdentity` seeds the IPv6 ULA default. Pure. */
export function resolveConfig(config: DefaultPoolsConfig, hostIdentity: string): Record<AddressSpace, DefaultPool[]> {
  const ula = ulaDefaultPool(hostIdentity);
  const docker = (list: string[]) => [...list.map(parseDefaultPool), ula];
  const resolve = (source: string, entries: string[] | undefined, defaults: DefaultPool[]) => {
    try {
      return resolveDefaultPools(entries ?? [DOCKER_TOKEN], defaults);
    } catch (err) {
      throw new IpamConfigError(`${source}: ${(err as Error).message}`, { cause: err });
    }
  };
  return {
    [ADDRESS_SPACES.local]: resolve('local default pools', config.local, docker(DOCKER_LOCAL_POOLS)),
    [ADDRESS_SPACES.global]: resolve('global default pools', config.global, docker(DOCKER_GLOBAL_POOLS)),
  } as Record<AddressSpace, DefaultPool[]>;
}

const splitList = (text: string) => text.split(',').map((s) => s.trim()).filter((s) => s !== '');

/** Reads the configuration: each environment variable wins over the file's list for its space. */
export async function readConfig(stateDir: string, env: NodeJS.ProcessEnv = process.env): Promise<DefaultPoolsConfig> {
  const path = join(stateDir, DEFAULT_POOLS_FILE);
  let file: DefaultPoolsConfig = {};
  try {
    file = JSON.parse(await readFile(path, 'utf8')) as DefaultPoolsConfig;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new IpamConfigError(`${path}: ${(err as Error).message}`, { cause: err });
  }
  for (const key of ['local', 'global'] as const) {
    const list: unknown = file[key];
    if (list !== undefined && !(Array.isArray(list) && list.every((e) => typeof e === 'string'))) {
      throw new IpamConfigError(`${path}: "${key}" must be a list of strings such as "10.128.0.0/9:24"`);
    }
  }
  const local = env[DEFAULT_POOLS_ENV];
  const global = env[GLOBAL_DEFAULT_POOLS_ENV];
  return {
    ...file,
    ...(local !== undefined && { local: splitList(local) }),
    ...(global !== undefined && { global: splitList(global) }),
  };
}

/** The host's identity for the ULA default: /etc/machine-id, else the host name. */
export async function hostIdentity(): Promise<string> {
  try {
    return (await readFile('/etc/machine-id', 'utf8')).trim() || hostname();
  } catch {
    return hostname();
  }
}
