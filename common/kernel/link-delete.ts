/**
 * @module Deleting a link from a child process (`ip link del`) instead of over the process's netlink
 * socket. The kernel answers RTM_DELLINK only after an RCU grace period (~20 ms); asked in-process, that
 * wait also held up the process's other I/O (measured: an fsync'd LevelDB write issued during a netlink
 * veth delete took 16–28 ms instead of 0.8 ms; during `ip link del` in a child, 1–3 ms). For deletes
 * nobody waits on, such as a veth whose endpoint is already gone.
 */
import { ENONETNS, stepIgnoring } from './rt-errors.js';
import { IpRoute2Backend } from './rt-iproute2.js';
import { assertIfName, type NetnsOption } from './link-types.js';

/**
 * Deletes `name` (for a veth, both ends) with `ip [-n NS] link del`. Idempotent: a missing link or
 * namespace counts as deleted.
 * @throws RtnlError naming the link when `ip` fails otherwise.
 */
export async function deleteLinkOutOfProcess(name: string, opts: NetnsOption = {}): Promise<void> {
  assertIfName(name);
  await stepIgnoring(`link "${name}"`, 'delete', ['ENODEV', ENONETNS], () => new IpRoute2Backend(opts.netns).delLink(name));
}
