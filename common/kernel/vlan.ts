/**
 * @module 802.1Q VLAN sub-interfaces (`ip link add link PARENT name NAME type vlan id VID`). The netlink
 * back end has no VLAN kind yet, so this runs `ip` (with `-n NETNS` for another namespace); a VLAN is
 * made once per network, so the extra process does not matter. Needs the kernel's 8021q support:
 * without it the kernel answers "Unknown device type" and {@link ensureVlan} throws
 * {@link KernelFeatureMissingError}. Delete a VLAN link with `deleteLink` (links.ts).
 */
import { KernelArgumentError, KernelFeatureMissingError } from './errors.js';
import { CommandError, run } from './exec.js';
import { assertIfName, type NetnsOption } from './link-types.js';
import { findLink, setUp } from './links.js';
import { LinkConflictError, errnoFromText, isErrno, step } from './rt-errors.js';

/** Lowest and highest 802.1Q VLAN id a sub-interface may carry (0 and 4095 are reserved). */
export const VLAN_ID_MIN = 1;
export const VLAN_ID_MAX = 4094;

export interface VlanOptions extends NetnsOption {
  /** Bring the link up (default true). */
  up?: boolean;
}

/** Runs `ip`, turning its failure into an `Errno` read from stderr (as the `ip` back end does). */
async function runIp(argv: string[], object: string): Promise<void> {
  try {
    await run(argv, { object, step: 'create' });
  } catch (err) {
    throw err instanceof CommandError ? errnoFromText(err.stderr, err) : err;
  }
}

/**
 * Makes sure the VLAN sub-interface `name` with id `vid` exists on `parent`, up unless `up: false`.
 * Idempotent: an existing VLAN link of that name is kept (and brought up); its id and parent are not
 * re-checked, as the link listing does not report them.
 * @throws KernelFeatureMissingError (feature `8021q`) when the kernel cannot make VLAN links;
 * KernelArgumentError for an id outside 1–4094; LinkConflictError when `name` is another kind of link
 * or `vid` is already on `parent` under another name; RtnlError for other kernel refusals.
 */
export async function ensureVlan(name: string, parent: string, vid: number, opts: VlanOptions = {}): Promise<void> {
  assertIfName(name);
  assertIfName(parent);
  if (!Number.isInteger(vid) || vid < VLAN_ID_MIN || vid > VLAN_ID_MAX) {
    throw new KernelArgumentError('vid', `VLAN id must be an integer from ${VLAN_ID_MIN} to ${VLAN_ID_MAX}, got ${vid}`);
  }
  const object = `vlan "${name}"`;
  const netns = opts.netns === undefined ? [] : ['-n', opts.netns];
  const up = opts.up ?? true;
  const argv = ['ip', ...netns, 'link', 'add', 'link', parent, 'name', name, ...(up ? ['up'] : []), 'type', 'vlan', 'id', String(vid)];
  try {
    await step(object, 'create', () => runIp(argv, object));
    return;
  } catch (err) {
    if (isErrno(err, 'EOPNOTSUPP')) {
      throw new KernelFeatureMissingError('8021q', `cannot create ${object} on "${parent}" (load the 8021q module: modprobe 8021q)`, { cause: err });
    }
    if (!isErrno(err, 'EEXIST')) throw err;
  }
  const have = await findLink(name, opts);
  if (!have) throw new LinkConflictError(object, `VLAN ${vid} already exists on "${parent}" under another name`);
  if (have.kind !== 'vlan') throw new LinkConflictError(object, `a ${have.kind} of that name already exists`);
  if (up && !have.up) await setUp(name, opts);
}
