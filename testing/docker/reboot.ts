/**
 * @module What a reboot takes from one suite instance, for the tests that simulate one: its links
 * (bridges, found by the instance's bridge MAC marker, and their ports), its nft tables, and the mounts
 * and loop devices under its folder. dockerd and the suite are stopped by the caller first.
 */
import { join } from 'node:path';
import { deleteLink, listLinks } from '../../common/kernel/links.js';
import { detachDevices, listLoops } from '../../common/kernel/loop.js';
import { isUnder } from '../../common/kernel/mount-info.js';
import { applyNft, listNftTables } from '../../common/kernel/nftables.js';
import { bridgeMacFor } from '../../network-driver/modes/bridge/bridge-mode.js';
import { instanceTag } from '../../network-driver/modes/shared/instance.js';
import { mountsMatching, unmountLazy } from '../system.js';

/** The bridges of the instance whose state dir is `stateDir` (its network plugin's tag marks their MAC). */
export async function instanceBridges(stateDir: string): Promise<string[]> {
  const mac = bridgeMacFor(instanceTag(join(stateDir, 'network')));
  return (await listLinks('ts')).filter((l) => l.mac === mac).map((l) => l.name);
}

/**
 * Removes what a reboot would: the links and nft tables of the instance with state dir `stateDir`,
 * and every mount and loop device under `dir` (the instance's folder). Idempotent.
 */
export async function forgetInstanceKernelState(dir: string, stateDir: string): Promise<void> {
  const bridges = new Set(await instanceBridges(stateDir));
  for (const l of (await listLinks('ts')).filter((x) => x.master !== undefined && bridges.has(x.master))) await deleteLink(l.name);
  for (const b of bridges) await deleteLink(b);
  for (const t of await listNftTables(`tsnet-${instanceTag(join(stateDir, 'network'))}`)) await applyNft([`delete table ${t.family} ${t.name}`]);
  for (const mp of (await mountsMatching((m) => isUnder(m, dir))).reverse()) await unmountLazy(mp);
  await detachDevices((await listLoops()).filter((l) => isUnder(l.backingFile, dir)));
}
