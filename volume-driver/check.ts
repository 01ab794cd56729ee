/**
 * @module `tsnet doctor` for tsvol: compares each volume record with the host (its directory; the
 * ext4 image of a size-limited volume mounted on `_data` through a loop device; a tmpfs volume mounted
 * exactly while its mount count or leases say it is in use) and names mounts and loop devices under
 * the volumes root that no record owns. Repair is start-up reconciliation (reconcile.ts) run again
 * while holding every volume's lock.
 */
import { access } from 'node:fs/promises';
import { relative } from 'node:path';
import type { Finding } from '../common/finding.js';
import type { DriverDeps } from './driver.js';
import { kindOf } from './kinds/index.js';
import { reconcile } from './reconcile.js';
import { mountCount, usersOf } from './record.js';

const finding = (Object: string, Expected: string, Found: string): Finding => ({ Plugin: 'tsvol', Object, Expected, Found, Fixable: true });

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Every difference between the volume records and the host. Read-only. */
export async function checkVolumes(deps: DriverDeps): Promise<Finding[]> {
  const { table, host } = deps;
  const out: Finding[] = [];
  const loops = await host.loopsUnder(table.root);
  const known = new Set<string>();
  for (const rec of table.all()) {
    known.add(rec.name);
    if (rec.state !== 'ready') continue;
    const paths = table.paths(rec.name);
    const what = `volume ${rec.name}`;
    if (!(await exists(paths.dir))) {
      out.push(finding(what, `its directory ${paths.dir}`, 'no such directory'));
      continue;
    }
    const mounted = await host.isMountpoint(paths.data);
    const users = usersOf(rec);
    const kind = kindOf(rec.spec);
    if (kind.mountedWhen === 'always') {
      if (!mounted) out.push(finding(what, `its size-limited image mounted on ${paths.data}`, 'not mounted'));
      if (!loops.some((l) => l.backingFile === paths.image)) out.push(finding(what, `a loop device for ${paths.image}`, 'none attached'));
    } else if (kind.mountedWhen === 'in-use') {
      const count = `${mountCount(rec)} mount(s), ${Object.keys(rec.leases).length} lease(s)`;
      if (users > 0 && !mounted) out.push(finding(what, `a ${kind.backing} on ${paths.data} (in use: ${count})`, 'not mounted'));
      if (users === 0 && mounted) out.push(finding(what, `no ${kind.backing} on ${paths.data} (unused: ${count})`, 'a mount'));
    }
  }
  const owner = (path: string) => relative(table.root, path).split('/')[0] ?? '';
  for (const point of await host.mountsUnder(table.root)) {
    if (point !== table.root && !known.has(owner(point))) out.push(finding(`mount ${point}`, 'absent (no volume owns it)', 'mounted'));
  }
  for (const l of loops) if (!known.has(owner(l.backingFile))) out.push(finding(`loop device ${l.device}`, 'absent (no volume owns it)', `attached to ${l.backingFile}`));
  return out;
}

/** Runs start-up reconciliation again, holding every volume's lock. */
export async function repairVolumes(deps: DriverDeps): Promise<void> {
  await deps.table.lock(
    deps.table.all().map((r) => r.name),
    () => reconcile(deps),
  );
}
