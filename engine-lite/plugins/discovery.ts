/**
 * @module Finding a v1 plugin by name the way dockerd does (docs/plugin-protocol.md §1.1): a socket
 * `<plugins dir>/NAME.sock` or `<plugins dir>/NAME/NAME.sock`, then spec files `NAME.spec` /
 * `NAME.json` (also inside `NAME/`) in each spec directory, first hit wins. engine-lite reaches
 * plugins over unix sockets only; a spec naming a TCP or HTTPS address is reported, not used.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { EngineError } from '../errors.js';

/** Where dockerd's v1 plugin sockets live; `--plugins-dir` replaces it. */
export const DEFAULT_PLUGINS_DIR = '/run/docker/plugins';

/** Where dockerd reads spec files, in order. */
export const DEFAULT_SPEC_DIRS = ['/etc/docker/plugins', '/usr/lib/docker/plugins'];

/** Where to look. */
export interface DiscoveryOptions {
  pluginsDir: string;
  specDirs: readonly string[];
}

/** A plugin found on disk: its socket, and the file that led there. */
export interface PluginAddress {
  name: string;
  socket: string;
  foundAt: string;
}

const isSocket = async (path: string) => (await stat(path).catch(() => undefined))?.isSocket() ?? false;

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw err;
  }
}

/** The socket path a spec's URL names; throws for what engine-lite cannot reach. */
export function socketFromUrl(url: string, file: string): string {
  const m = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(url.trim());
  if (!m) throw new EngineError(`plugin spec ${file}: "${url.trim()}": Unknown protocol (expected unix:///path)`);
  if (m[1]!.toLowerCase() !== 'unix') {
    throw new EngineError(`plugin spec ${file}: ${m[1]}:// addresses are not supported by engine-lite; serve the plugin on a unix socket`);
  }
  return m[2]!;
}

/** Reads a `.spec` (one URL) or `.json` (`{"Addr": URL}`) file; undefined when absent. */
async function readSpec(path: string): Promise<string | undefined> {
  const text = await readText(path);
  if (text === undefined) return undefined;
  if (path.endsWith('.spec')) return socketFromUrl(text, path);
  let addr: unknown;
  try {
    addr = (JSON.parse(text) as { Addr?: unknown }).Addr;
  } catch (err) {
    throw new EngineError(`plugin spec ${path}: not valid JSON: ${(err as Error).message}`);
  }
  if (typeof addr !== 'string') throw new EngineError(`plugin spec ${path}: no "Addr" string`);
  return socketFromUrl(addr, path);
}

/**
 * Finds plugin `name`; undefined when no socket or spec file names it. A name with `/` is never found.
 * @throws EngineError for a spec file that exists but cannot be used.
 */
export async function findPlugin(name: string, opts: DiscoveryOptions): Promise<PluginAddress | undefined> {
  if (name === '' || name.includes('/') || name.startsWith('.')) return undefined;
  for (const socket of [join(opts.pluginsDir, `${name}.sock`), join(opts.pluginsDir, name, `${name}.sock`)]) {
    if (await isSocket(socket)) return { name, socket, foundAt: socket };
  }
  for (const dir of opts.specDirs) {
    for (const file of [`${name}.spec`, `${name}.json`, `${name}/${name}.spec`, `${name}/${name}.json`]) {
      const path = join(dir, file);
      const socket = await readSpec(path);
      if (socket !== undefined) return { name, socket, foundAt: path };
    }
  }
  return undefined;
}

/** Names of every plugin a socket or spec file announces (for `volume ls`, which asks them all). */
export async function listPluginNames(opts: DiscoveryOptions): Promise<string[]> {
  const names = new Set<string>();
  const entries = async (dir: string) => readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of await entries(opts.pluginsDir)) {
    if (e.name.endsWith('.sock')) names.add(basename(e.name, '.sock'));
    else if (e.isDirectory() && (await isSocket(join(opts.pluginsDir, e.name, `${e.name}.sock`)))) names.add(e.name);
  }
  for (const dir of opts.specDirs) {
    for (const e of await entries(dir)) {
      const m = /^(.+)\.(spec|json)$/.exec(e.name);
      if (m) names.add(m[1]!);
      else if (e.isDirectory()) names.add(e.name);
    }
  }
  return [...names].sort();
}
