/**
 * @module The devices a container may use, as docker grants them: the device cgroup (v1 `devices`
 * controller) refuses every device but docker's default list (the usual /dev nodes, any pty, and
 * creating nodes, which stay unusable), plus those given with `--device`, which are also bound into
 * the container's /dev. `--privileged` leaves devices unrestricted, as in docker. On a host without
 * a v1 devices hierarchy (pure cgroup v2, where docker loads an eBPF program) the list is not
 * enforced; the root and /dev are mounted `nodev` all the same, so nodes made inside stay unusable.
 */
import { stat } from 'node:fs/promises';
import { InvalidArgumentError } from '../errors.js';
import type { ContainerRecord, DeviceRecord } from '../state/records.js';

/**
 * docker's default device rules: runc's allowed devices (mknod of any node; null, random, full,
 * tty, zero, urandom, console, pts, ptmx; tun), which moby's deny of fuse (10:229) leaves as is.
 */
export const DOCKER_DEVICE_RULES: readonly string[] = [
  'c *:* m',
  'b *:* m',
  'c 1:3 rwm',
  'c 1:8 rwm',
  'c 1:7 rwm',
  'c 5:0 rwm',
  'c 1:5 rwm',
  'c 1:9 rwm',
  'c 5:1 rwm',
  'c 136:* rwm',
  'c 5:2 rwm',
  'c 10:200 rwm',
];

/** Major and minor numbers of a Linux `dev_t` (glibc's encoding). */
function majorMinor(rdev: bigint): [bigint, bigint] {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return [major, minor];
}

/**
 * Reads `--device HOST[:CONTAINER[:PERMISSIONS]]` (permissions: some of `rwm`, default `rwm`; the
 * container path defaults to the host's), checking that HOST is a device node.
 * @throws InvalidArgumentError naming the flag's value and what is wrong.
 */
export async function parseDevice(spec: string): Promise<DeviceRecord> {
  const mode = (x: string | undefined) => x !== undefined && /^[rwm]{1,3}$/.test(x);
  const parts = spec.split(':');
  const [pathOnHost = '', second, third] = parts;
  // As docker reads it: HOST, HOST:PERMISSIONS, HOST:CONTAINER or HOST:CONTAINER:PERMISSIONS.
  const permissions = parts.length === 3 ? third! : parts.length === 2 && mode(second) ? second! : 'rwm';
  const pathInContainer = parts.length === 3 || (parts.length === 2 && !mode(second)) ? second! : pathOnHost;
  if (parts.length > 3 || !pathOnHost.startsWith('/') || !pathInContainer.startsWith('/') || !mode(permissions)) {
    throw new InvalidArgumentError(`invalid --device "${spec}": expected /host/path[:/container/path][:permissions] with permissions made of r, w and m`);
  }
  let st;
  try {
    st = await stat(pathOnHost, { bigint: true });
  } catch (err) {
    throw new InvalidArgumentError(`error gathering device information while adding custom device "${pathOnHost}": ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const type = st.isBlockDevice() ? 'b' : st.isCharacterDevice() ? 'c' : undefined;
  if (!type) throw new InvalidArgumentError(`error gathering device information while adding custom device "${pathOnHost}": not a device node`);
  const [major, minor] = majorMinor(st.rdev);
  return { pathOnHost, pathInContainer, permissions, rule: `${type} ${major}:${minor} ${permissions}` };
}

/** The device rules of `c`'s cgroup: docker's defaults and its `--device`s; undefined (no restriction) when privileged. */
export function deviceRules(c: ContainerRecord): string[] | undefined {
  if (c.host.privileged) return undefined;
  return [...DOCKER_DEVICE_RULES, ...(c.host.devices ?? []).map((d) => d.rule)];
}
