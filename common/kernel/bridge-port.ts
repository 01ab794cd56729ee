/**
 * @module Settings of a link as a port of a bridge (`bridge_slave`), which the Links API does not
 * cover. In our own namespace through sysfs (`/sys/class/net/NAME/brport/…`, no process); in a named
 * namespace through `ip -n NAME link set … type bridge_slave …`.
 */
import { writeFile } from 'node:fs/promises';
import { KernelError } from './errors.js';
import { run } from './exec.js';
import { assertIfName, type NetnsOption } from './link-types.js';

/**
 * Turns hairpin mode of bridge port `name` on or off: with it on, the bridge may send a frame back out
 * of the port it arrived on, which a container needs to reach its own published port once DNAT has
 * turned the frame around inside the bridge (br_netfilter). Idempotent.
 * @throws KernelError when `name` does not exist or is not a port of a bridge.
 */
export async function setHairpin(name: string, on: boolean, opts: NetnsOption = {}): Promise<void> {
  assertIfName(name);
  const object = `bridge port "${name}"${opts.netns ? ` in netns "${opts.netns}"` : ''}`;
  const step = `turn hairpin ${on ? 'on' : 'off'} on`;
  if (opts.netns) {
    await run(['ip', '-n', opts.netns, 'link', 'set', 'dev', name, 'type', 'bridge_slave', 'hairpin', on ? 'on' : 'off'], { object, step });
    return;
  }
  try {
    await writeFile(`/sys/class/net/${name}/brport/hairpin_mode`, on ? '1' : '0');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new KernelError(object, step, code === 'ENOENT' ? 'no such link, or it is not a port of a bridge' : (err as Error).message, { cause: err });
  }
}
