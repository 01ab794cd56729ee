/**
 * @module What the admin commands of `tsnet` (`status`, `ipam …`, `volume …`) share: the
 * `--plugins-dir` option (env `TSNET_PLUGINS_DIR`), finding the socket that serves a plugin's admin
 * interface, and calling it with errors a person can act on. The plugin's own socket
 * (`tsipam.sock`, …) is used if present, else the one socket of `tsnet serve --socket tsnet.sock`
 * (a managed plugin's, in `/run/docker/plugins/<plugin-id>/`). Loads no schema library: the commands
 * start fast.
 */
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { Option } from 'commander';
import { ADMIN_INTERFACE, DEFAULT_PLUGINS_DIR, SOCKET_NAMES, type PluginKind } from './plugin.js';
import { callPlugin, PluginCallError } from './protocol/client.js';

/** The socket name a single-socket `tsnet serve` (e.g. the managed plugin) is looked for under. */
export const SHARED_SOCKET = SOCKET_NAMES.network;

/** `--plugins-dir DIR`, also `TSNET_PLUGINS_DIR`, default `/run/docker/plugins`. */
export function pluginsDirOption(): Option {
  return new Option('--plugins-dir <dir>', 'where the plugin sockets are (a managed plugin: /run/docker/plugins/<plugin-id>)')
    .env('TSNET_PLUGINS_DIR')
    .default(DEFAULT_PLUGINS_DIR);
}

/** Nothing serves the plugin: no socket, or a socket nobody listens on. */
export class NotRunningError extends Error {
  readonly code = 'ERR_NOT_RUNNING';
  override readonly name = 'NotRunningError';
}

/** The plugin answered the admin call with a refusal; the message is the plugin's own words. */
export class AdminRefusedError extends Error {
  readonly code = 'ERR_ADMIN_REFUSED';
  override readonly name = 'AdminRefusedError';
}

async function isSocket(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isSocket();
  } catch {
    return false;
  }
}

/**
 * The socket to ask for `kind`: `<pluginsDir>/<kind's socket>` if it exists, else
 * `<pluginsDir>/tsnet.sock` if it exists. Throws {@link NotRunningError} naming where it looked.
 */
export async function resolveAdminSocket(pluginsDir: string, kind: PluginKind): Promise<string> {
  const candidates = [...new Set([SOCKET_NAMES[kind], SHARED_SOCKET])].map((name) => join(pluginsDir, name));
  for (const path of candidates) if (await isSocket(path)) return path;
  throw new NotRunningError(`tsnet is not running (no socket at ${candidates.join(' or ')}); start it with \`tsnet serve\`, or pass --plugins-dir`);
}

/**
 * Calls `<admin interface of kind>.<method>` on the socket {@link resolveAdminSocket} finds. A
 * refusal is reported in the plugin's own words; a dead socket as "tsnet is not running".
 */
export async function adminCall<T>(pluginsDir: string, kind: PluginKind, method: string, req: object): Promise<T> {
  const socket = await resolveAdminSocket(pluginsDir, kind);
  try {
    return await callPlugin<T>(socket, `${ADMIN_INTERFACE[kind]}.${method}`, req);
  } catch (err) {
    if (err instanceof PluginCallError) throw new AdminRefusedError(err.message.slice(err.call.length + 2), { cause: err });
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED') throw new NotRunningError(`tsnet is not running (socket at ${socket} refuses connections: stale socket)`, { cause: err });
    if (code === 'ENOENT') throw new NotRunningError(`tsnet is not running (no socket at ${socket})`, { cause: err });
    throw err;
  }
}
