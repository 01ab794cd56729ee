/**
 * @module What the `records-v1/` fixture holds and how its kernel side is compared. The fixture is the
 * network plugin's LevelDB state written by the suite as it was before network records carried their
 * config (record v1, store format 2: commit cc2cf49), with a network of every mode (bridge, overlay
 * single-host, macvlan with the host shim on {@link FIXTURE.parent}, none), each with a joined endpoint;
 * and `kernel.json`, the kernel objects that code's restore made from that state in a fresh namespace.
 * make-records-v1-fixture.ts writes both; the upgrade tests check the current code loads and serves the
 * state, and that its restore makes the same objects. Test-only.
 */
import { listAddresses } from '../../common/kernel/addresses.js';
import { ensureVethPair, listLinks, setUp } from '../../common/kernel/links.js';
import { listNftElements, listNftTables } from '../../common/kernel/nftables.js';
import { listRoutes } from '../../common/kernel/routes.js';

export const FIXTURE = {
  /** The instance tag the old code ran with (link names and marker MACs carry it). */
  tag: 'f1c5e7',
  /** The macvlan parent: one end of a veth pair made in the namespace (the other end is `${parent}b`). */
  parent: 'tsfxp0',
  networks: {
    bridge: { id: 'b1'.repeat(32), subnet: '10.201.1.0/24', options: { mode: 'bridge' } },
    overlay: { id: 'c1'.repeat(32), subnet: '10.201.2.0/24', options: { mode: 'overlay', vni: '4711' } },
    macvlan: { id: 'd1'.repeat(32), subnet: '10.201.3.0/24', options: { mode: 'macvlan', parent: 'tsfxp0', host_access: 'true' } },
    none: { id: 'a1'.repeat(32), subnet: '10.201.4.0/24', options: { mode: 'none' } },
  },
  /** Each network's endpoint: ID `e` + the network ID's tail, address `.5` of its subnet, joined to {@link FIXTURE.sandboxKey}. */
  endpointOf: (networkId: string) => `e${networkId.slice(1)}`,
  addressOf: (subnet: string) => subnet.replace(/0\/24$/, '5/24'),
  gatewayOf: (subnet: string) => subnet.replace(/0\/24$/, '1/24'),
  sandboxKey: '/var/run/docker/netns/fixture',
} as const;

/** Makes the fixture host's devices in `netns`: the macvlan parent, up. */
export async function makeFixtureHost(netns: string): Promise<void> {
  await ensureVethPair(FIXTURE.parent, `${FIXTURE.parent}b`, { netns });
  await setUp(FIXTURE.parent, { netns });
  await setUp(`${FIXTURE.parent}b`, { netns });
}

/** The kernel objects of `netns` a restore makes, comparable across runs (no indexes, no kernel-chosen MACs or addresses). */
export async function kernelObjects(netns: string) {
  const links = await listLinks('', { netns });
  const ours = links.filter((l) => l.name.startsWith('ts'));
  return {
    links: await Promise.all(
      ours.map(async (l) => ({
        name: l.name,
        kind: l.kind,
        mtu: l.mtu,
        up: l.up,
        // Bridges and VXLAN devices carry the instance's marker MAC; the kernel picks the others.
        ...(l.kind === 'bridge' || l.kind === 'vxlan' ? { mac: l.mac } : {}),
        ...(l.master === undefined ? {} : { master: l.master }),
        ...(l.kind === 'macvlan' ? { parent: l.parent, macvlanMode: l.macvlanMode } : {}),
        ...(l.vxlan ? { vni: l.vxlan.vni, port: l.vxlan.port } : {}),
        addresses: (await listAddresses(l.name, { netns })).filter((a) => a.scope !== 'link').map((a) => a.cidr).sort(),
      })),
    ),
    routes: (await listRoutes({ netns })).filter((r) => r.dev?.startsWith('ts') && r.protocol !== 2).map((r) => `${r.dst} dev ${r.dev}`).sort(),
    nft: await Promise.all(
      (await listNftTables(undefined, { netns })).map(async (t) => ({
        table: t.name,
        elements: [...((await listNftElements(t.name, { netns })) ?? new Map<string, string[]>())].map(([set, els]) => [set, [...els].sort()]).sort(),
      })),
    ),
  };
}
