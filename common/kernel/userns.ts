/**
 * @module What running a container in a user namespace needs from this host (see
 * container-process.ts `NewContainerSpec.userns`): user namespaces enabled (`user.max_user_namespaces`
 * above 0, `/proc/self/uid_map` present) and a kernel whose overlayfs takes id-mapped lower layers
 * (5.19; `mount_setattr` itself is 5.12). The namespace is made by root, so the Debian/Ubuntu
 * switches for *unprivileged* user namespaces (`kernel.unprivileged_userns_clone`,
 * `kernel.apparmor_restrict_unprivileged_userns`) do not stand in its way.
 */
import { access, readFile } from 'node:fs/promises';
import { release } from 'node:os';
import { KernelFeatureMissingError } from './errors.js';

/** The oldest kernel whose overlayfs mounts id-mapped lower layers. */
const IDMAPPED_OVERLAY = [5, 19] as const;

/** Whether kernel release `rel` (`uname -r`) is at least `min`. Pure. */
export function releaseAtLeast(rel: string, min: readonly [number, number]): boolean {
  const m = /^(\d+)\.(\d+)/.exec(rel);
  if (!m) return false;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > min[0] || (major === min[0] && minor >= min[1]);
}

/**
 * Checks that containers can run in a user namespace here.
 * @throws KernelFeatureMissingError naming what is missing.
 */
export async function checkUserNamespaces(rel: string = release()): Promise<void> {
  const missing = (detail: string) => new KernelFeatureMissingError('user namespaces', detail);
  if (!(await access('/proc/self/uid_map').then(() => true, () => false))) throw missing('/proc/self/uid_map is absent (kernel built without CONFIG_USER_NS)');
  const max = await readFile('/proc/sys/user/max_user_namespaces', 'utf8').then((t) => Number(t.trim()), () => NaN);
  if (max === 0) throw missing('user.max_user_namespaces is 0 (sysctl -w user.max_user_namespaces=15000 enables them)');
  if (!releaseAtLeast(rel, IDMAPPED_OVERLAY)) throw missing(`kernel ${rel} cannot id-map overlay lower layers (needs ${IDMAPPED_OVERLAY.join('.')} or later)`);
}
