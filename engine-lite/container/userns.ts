/**
 * @module `--userns`: `host` (the default: no user namespace) or `remap[:HOSTUID[:COUNT]]`, dockerd's
 * `--userns-remap` per container: container root is host HOSTUID, container ids 0..COUNT-1 are host
 * HOSTUID..HOSTUID+COUNT-1 (uids and gids alike). Without HOSTUID the range is the `/etc/subuid`
 * and `/etc/subgid` entries of user `tsremap` (docker's `dockremap` convention), else 100000:65536.
 */
import { readFile } from 'node:fs/promises';
import type { IdMap } from '../../common/kernel/container-process.js';
import { KernelFeatureMissingError } from '../../common/kernel/errors.js';
import { checkUserNamespaces } from '../../common/kernel/userns.js';
import { InvalidArgumentError } from '../errors.js';

/** The user whose subordinate id ranges `--userns remap` uses by default. */
export const REMAP_USER = 'tsremap';
const DEFAULT_RANGE = { start: 100000, count: 65536 };
const MAX_ID = 2 ** 32 - 2;

/** The first range of `user` in an /etc/subuid or /etc/subgid text (`name:start:count` lines). Pure. */
export function subordinateRange(text: string, user: string): { start: number; count: number } | undefined {
  for (const line of text.split('\n')) {
    const m = /^([^:#\s]+):(\d+):(\d+)\s*$/.exec(line.trim());
    if (m && m[1] === user && Number(m[3]) > 0) return { start: Number(m[2]), count: Number(m[3]) };
  }
  return undefined;
}

const idArg = (s: string, what: string, flag: string) => {
  if (!/^\d+$/.test(s) || Number(s) > MAX_ID) throw new InvalidArgumentError(`invalid --userns "${flag}": ${what} "${s}" is not a number up to ${MAX_ID}`);
  return Number(s);
};

/**
 * The id map `--userns value` asks for (undefined: none), given the /etc/subuid and /etc/subgid
 * texts for the default range. Pure.
 * @throws InvalidArgumentError for a malformed value or a range that does not fit.
 */
export function parseUserns(value: string | undefined, subuid = '', subgid = ''): IdMap | undefined {
  if (value === undefined || value === '' || value === 'host') return undefined;
  const m = /^remap(?::([^:]*)(?::([^:]*))?)?$/.exec(value);
  if (!m) throw new InvalidArgumentError(`invalid --userns "${value}": expected host or remap[:HOSTUID[:COUNT]]`);
  let map: IdMap;
  if (m[1] === undefined) {
    const u = subordinateRange(subuid, REMAP_USER) ?? DEFAULT_RANGE;
    const g = subordinateRange(subgid, REMAP_USER) ?? u;
    map = { uid: u.start, gid: g.start, count: Math.min(u.count, g.count) };
  } else {
    const uid = idArg(m[1], 'HOSTUID', value);
    map = { uid, gid: uid, count: m[2] === undefined ? DEFAULT_RANGE.count : idArg(m[2], 'COUNT', value) };
  }
  if (map.uid === 0 || map.gid === 0) throw new InvalidArgumentError(`invalid --userns "${value}": container root must not be host root (HOSTUID 0)`);
  if (map.count === 0 || Math.max(map.uid, map.gid) + map.count - 1 > MAX_ID) throw new InvalidArgumentError(`invalid --userns "${value}": the range of ${map.count} ids from ${map.uid} does not fit`);
  return map;
}

/**
 * `--userns` of `docker run` checked against the rest of the container and this host.
 * @throws InvalidArgumentError for a bad value, `--privileged` with a remap, a `--user` outside the
 * range, or a host without user namespace support (saying what is missing).
 */
export async function resolveUserns(value: string | undefined, opts: { privileged: boolean; uid?: number; gid?: number }): Promise<IdMap | undefined> {
  const read = (f: string) => readFile(f, 'utf8').catch(() => '');
  const map = parseUserns(value, await read('/etc/subuid'), await read('/etc/subgid'));
  if (!map) return undefined;
  if (opts.privileged) throw new InvalidArgumentError('--privileged cannot be used with --userns remap (privileged mode is incompatible with user namespaces)');
  for (const [id, what] of [[opts.uid, 'user'], [opts.gid, 'group']] as const) {
    if (id !== undefined && id >= map.count) throw new InvalidArgumentError(`--userns ${value}: ${what} ${id} is outside the ${map.count} ids the container has`);
  }
  try {
    await checkUserNamespaces();
  } catch (err) {
    if (err instanceof KernelFeatureMissingError) throw new InvalidArgumentError(`--userns ${value}: ${err.message}`, { cause: err });
    throw err;
  }
  return map;
}
