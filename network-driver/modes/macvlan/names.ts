/**
 * @module Names of the links macvlan mode makes, and the test of whether a link is one of them. All
 * start with `tsmv`, then carry the instance tag (4 hex digits from the plugin's state directory), and
 * fill Linux's 15 bytes: `tsmv` + tag + 7 endpoint-ID characters for a container's child, `tsmvh` + tag
 * + 6 network-ID characters for a host shim, `tsmvl` + tag + 6 hash digits for a VLAN sub-interface.
 * Recovery removes links of exactly these shapes carrying its own tag that no record owns, so several
 * tsnet instances on one host (the test suite runs many) never remove each other's links. Pure.
 */
import { createHash } from 'node:crypto';
import { nameFromId } from '../shared/names.js';

const TAG = /^[0-9a-f]{4}$/;
const SHAPES = [/^tsmv([0-9a-f]{4})[0-9a-f]{7}$/, /^tsmvh([0-9a-f]{4})[0-9a-f]{6}$/, /^tsmvl([0-9a-f]{4})[0-9a-f]{6}$/];

/**
 * The instance tag macvlan names carry: the first 4 hex digits of `instanceTag`.
 * @throws RangeError when it does not start with 4 lower-case hex digits.
 */
export function macvlanTag(instanceTag: string): string {
  const tag = instanceTag.slice(0, 4);
  if (!TAG.test(tag)) throw new RangeError(`instance tag "${instanceTag}" must start with 4 lower-case hex digits`);
  return tag;
}

/**
 * The macvlan child of an endpoint, handed to Docker as `SrcName`.
 * @throws RangeError for an ID that is not lower-case letters and digits (see nameFromId).
 */
export function childName(tag: string, endpointId: string): string {
  return nameFromId(`tsmv${tag}`, endpointId);
}

/** The host-side shim of a network with `host_access=true`. @throws RangeError as {@link childName}. */
export function shimName(tag: string, networkId: string): string {
  return nameFromId(`tsmvh${tag}`, networkId);
}

/** The VLAN sub-interface tsnet makes for `parent=BASE.VID` when no link of that name exists; shared by every network naming it. */
export function vlanName(tag: string, base: string, vid: number): string {
  return nameFromId(`tsmvl${tag}`, createHash('sha256').update(`${base}.${vid}`).digest('hex'));
}

/** Whether `name` has the exact shape of a link this mode makes (child, shim or VLAN); with `tag`, of this instance only. */
export function isMacvlanModeLink(name: string, tag?: string): boolean {
  return SHAPES.some((shape) => {
    const m = shape.exec(name);
    return m !== null && (tag === undefined || m[1] === tag);
  });
}
