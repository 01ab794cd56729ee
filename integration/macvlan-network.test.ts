/**
 * tsnet `mode=macvlan` end to end, on real dockerd and on engine-lite: every scenario makes its own LAN
 * (a veth pair whose host end is the parent and whose other end sits in a LAN namespace with the router;
 * never the host's eth0) and removes it. Tests that expect no reachability install an unreachable route
 * for their subnet first, so nothing can leave through the host's uplink.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import { run } from '../common/kernel/exec.js';
import { deleteLink, ensureBridge, ensureMacvlan, listLinks } from '../common/kernel/links.js';
import { freeSubnets, installUnreachable } from '../testing/kernel/subnets.js';
import { childName, isMacvlanModeLink } from '../network-driver/modes/macvlan/names.js';
import { addressIn, firstAddress, makeTestLan, pings, vlanUnsupportedReason, type TestLan } from '../network-driver/modes/testing/fixture-lan.js';
import { engineLiteRuntime, type EngineLiteRuntime } from '../testing/docker/engine-lite-runtime.js';
import { startSuite, type SuiteHandle } from '../testing/docker/plugin-harness.js';
import { dockerRuntime, type Runtime } from '../testing/docker/runtime.js';
import { skipUnlessIpv6 } from '../testing/kernel/ipv6.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('macvlan integration tests skipped: they need root (namespaces, links, dockerd)');

let suite: SuiteHandle | undefined;
let engineLite: EngineLiteRuntime | undefined;
let vlanMissing: string | undefined;

beforeAll(async () => {
  if (!isRoot) return;
  suite = await startSuite({ only: ['network', 'ipam'] });
  engineLite = await engineLiteRuntime(suite);
  vlanMissing = await vlanUnsupportedReason();
});

afterAll(async () => {
  await engineLite?.cleanup();
  await suite?.stop();
});

/** Links of this mode's shapes (of any tsnet instance) now in the host's namespace. */
const macvlanLinks = async () => (await listLinks('tsmv')).map((l) => l.name).filter((n) => isMacvlanModeLink(n));

describe.skipIf(!isRoot).each(['docker', 'engine-lite'] as const)('tsnet macvlan on %s', (kind) => {
  let rt: Runtime;
  const name = (what: string) => `tstest-mv${what}-${randomBytes(3).toString('hex')}`;

  beforeAll(() => {
    rt = kind === 'docker' ? dockerRuntime(suite!, inject('testImage')) : engineLite!;
  });

  /** A LAN with one IPv4 and one IPv6 subnet, removed when the test ends. */
  async function lan(opts: { parentHost?: number; mtu?: number } = {}): Promise<{ lan: TestLan; v4: string; v6: string }> {
    const [v4] = await freeSubnets(1, { family: 4, prefixLen: 24 });
    const [v6] = await freeSubnets(1, { family: 6, prefixLen: 64 });
    const made = await makeTestLan({
      subnets: [v4!, v6!],
      ...(opts.mtu === undefined ? {} : { mtu: opts.mtu }),
      // A /25: the host's own LAN address and route cover the low half, where the containers are.
      ...(opts.parentHost === undefined ? {} : { parentAddresses: [`${addressIn(v4!, opts.parentHost)}/25`] }),
    });
    onTestFinished(() => made.remove());
    return { lan: made, v4: v4!, v6: v6! };
  }

  /** Creates a macvlan network (removed when the test ends); resolves with the CLI's result. */
  async function network(n: string, parent: string, v4: string, extra: string[] = []) {
    onTestFinished(async () => void (await rt.cli(['network', 'rm', n])));
    return rt.cli(['network', 'create', '-d', rt.drivers.network, '-o', 'mode=macvlan', '-o', `parent=${parent}`, '--subnet', v4, '--gateway', firstAddress(v4), ...extra, n]);
  }

  /** Starts a sleeping container with a fixed address (removed when the test ends); resolves with its name. */
  async function sleeper(n: string, ip: string, extra: string[] = []): Promise<string> {
    const c = name('c');
    onTestFinished(async () => void (await rt.cli(['rm', '-f', c])));
    await rt.ok(['run', '-d', '--name', c, '--network', n, '--ip', ip, ...extra, rt.image, 'sleep', '600']);
    return c;
  }

  /** Runs `sh -c script` in a throwaway container on `n`; resolves with stdout. */
  const inContainer = (n: string, script: string, extra: string[] = []) => rt.ok(['run', '--rm', '--network', n, ...extra, rt.image, 'sh', '-c', script]);
  const ping = (ip: string) => `ping ${ip.includes(':') ? '-6 ' : ''}-c 1 -W 2 ${ip} >/dev/null 2>&1 && echo ${ip}=ok || echo ${ip}=no`;

  it('bridge mode: containers reach the LAN router and each other over IPv4 and IPv6, with the parent MTU', async (ctx) => {
    await skipUnlessIpv6(ctx);
    const { lan: l, v4, v6 } = await lan({ mtu: 1400 });
    const n = name('br');
    expect((await network(n, l.parent, v4, ['--ipv6', '--subnet', v6, '--gateway', firstAddress(v6)])).code).toBe(0);
    await sleeper(n, addressIn(v4, 10), ['--ip6', addressIn(v6, 10)]);
    const targets = [firstAddress(v4), firstAddress(v6), addressIn(v4, 10), addressIn(v6, 10)];
    const out = await inContainer(n, `${targets.map(ping).join('; ')}; cat /sys/class/net/eth0/mtu; ip route`);
    for (const t of targets) expect(out).toContain(`${t}=ok`);
    expect(out).toContain('\n1400\n');
    expect(out).toContain(`default via ${firstAddress(v4)} dev eth0`);
    // The gateway is the LAN's router: the host holds it on no interface.
    const hostAddrs = await run(['ip', '-o', 'addr'], { object: 'host addresses', step: 'list' });
    expect(hostAddrs.stdout).not.toContain(` ${firstAddress(v4)}/`);
  });

  it('private mode: containers reach the LAN router but not each other', async () => {
    const { lan: l, v4 } = await lan();
    await installUnreachable(v4);
    const n = name('pr');
    expect((await network(n, l.parent, v4, ['-o', 'macvlan_mode=private'])).code).toBe(0);
    await sleeper(n, addressIn(v4, 10));
    const out = await inContainer(n, `${ping(firstAddress(v4))}; ${ping(addressIn(v4, 10))}`);
    expect(out).toContain(`${firstAddress(v4)}=ok`);
    expect(out).toContain(`${addressIn(v4, 10)}=no`);
  });

  it('the host reaches a container only with host_access=true; the shim goes with the network', async (ctx) => {
    await skipUnlessIpv6(ctx);
    const { lan: l, v4, v6 } = await lan({ parentHost: 126 });
    await installUnreachable(v4);
    expect(await pings(firstAddress(v4))).toBe(true); // the host's own path into the LAN works
    const plain = name('noha');
    expect((await network(plain, l.parent, v4)).code).toBe(0);
    const first = await sleeper(plain, addressIn(v4, 10));
    expect(await pings(addressIn(v4, 10))).toBe(false);
    await rt.ok(['rm', '-f', first]);
    await rt.ok(['network', 'rm', plain]);

    const shared = name('ha');
    const opts = ['-o', 'host_access=true', '--aux-address', `host=${addressIn(v4, 250)}`, '--ipv6', '--subnet', v6, '--gateway', firstAddress(v6)];
    expect((await network(shared, l.parent, v4, opts)).code).toBe(0);
    await sleeper(shared, addressIn(v4, 11), ['--ip6', addressIn(v6, 11)]);
    expect(await pings(addressIn(v4, 11))).toBe(true);
    expect(await pings(addressIn(v6, 11))).toBe(true);
    expect(await inContainer(shared, ping(addressIn(v4, 250)), ['--ip', addressIn(v4, 12)])).toContain('=ok');
    expect((await macvlanLinks()).filter((x) => x.startsWith('tsmvh'))).toHaveLength(1);
  });

  it('refuses bad input clearly and leaves nothing behind', async () => {
    const { lan: l, v4 } = await lan();
    const bridge = `tstestbr${randomBytes(3).toString('hex')}`; // a bridge with the suite's prefix, as tsnet's bridge mode makes
    await ensureBridge(bridge);
    onTestFinished(() => deleteLink(bridge));
    const before = await macvlanLinks();
    const used = name('used');
    expect((await network(used, l.parent, v4)).code).toBe(0);
    const [other] = await freeSubnets(1, { family: 4, prefixLen: 24 });
    const cases: Array<[string[], RegExp]> = [
      [['-o', 'macvlan_mode=bridge'], /option "parent" is required for mode macvlan/],
      [['-o', 'parent=tsnosuch0'], /parent interface "tsnosuch0" does not exist/],
      [['-o', `parent=${bridge}`], new RegExp(`parent "${bridge}" is a tsnet bridge`)],
      [['-o', `parent=${l.parent}`, '-o', 'macvlan_mode=passthru'], /passthru needs the parent to itself/],
      [['-o', `parent=${l.parent}`, '-o', 'macvlan_mode=loud'], /"macvlan_mode" must be one of bridge, private, vepa, passthru/],
    ];
    for (const [opts, message] of cases) {
      const n = name('bad');
      const r = await rt.cli(['network', 'create', '-d', rt.drivers.network, '-o', 'mode=macvlan', ...opts, '--subnet', other!, n]);
      expect(r.code, opts.join(' ')).not.toBe(0);
      expect(r.stderr).toMatch(message);
      expect((await rt.cli(['network', 'inspect', n])).code).not.toBe(0);
    }
    expect(await macvlanLinks()).toEqual(before);
  });

  it('parent=IFACE.VLAN: refused with the reason when the kernel has no 802.1Q, else a VLAN link that goes with the network', async () => {
    const { lan: l, v4 } = await lan();
    const n = name('vlan');
    const before = await macvlanLinks();
    const r = await network(n, `${l.parent}.10`, v4);
    if (vlanMissing !== undefined) {
      console.warn(`macvlan VLAN scenario: only the refusal is checked, as ${vlanMissing}`);
      expect(r.stderr).toMatch(/asks for VLAN 10 .* no 802.1Q VLAN support \(module 8021q\); load it \(modprobe 8021q\)/);
      expect(await macvlanLinks()).toEqual(before);
      return;
    }
    expect(r.code).toBe(0);
    expect((await macvlanLinks()).some((x) => x.startsWith('tsmvl'))).toBe(true);
    await rt.ok(['network', 'rm', n]);
    expect(await macvlanLinks()).toEqual(before);
  });
});

describe.skipIf(!isRoot)('tsnet macvlan across a plugin crash (docker)', () => {
  it('after kill -9 and restart, restores a lost shim and removes stray links, keeping containers reachable', async () => {
    const rt = dockerRuntime(suite!, inject('testImage'));
    const [v4] = await freeSubnets(1, { family: 4, prefixLen: 24 });
    const l = await makeTestLan({ subnets: [v4!] });
    onTestFinished(() => l.remove());
    await installUnreachable(v4!);
    const n = `tstest-mvcrash-${randomBytes(3).toString('hex')}`;
    const c = `${n}-c`;
    onTestFinished(async () => void (await rt.cli(['network', 'rm', n])));
    onTestFinished(async () => void (await rt.cli(['rm', '-f', c])));
    const id = (await rt.ok(['network', 'create', '-d', rt.drivers.network, '-o', 'mode=macvlan', '-o', `parent=${l.parent}`, '-o', 'host_access=true', '--subnet', v4!, '--gateway', firstAddress(v4!), n])).trim();
    await rt.ok(['run', '-d', '--name', c, '--network', n, '--ip', addressIn(v4!, 10), rt.image, 'sleep', '600']);
    const shim = (await macvlanLinks()).find((n) => n.startsWith('tsmvh') && n.endsWith(id.slice(0, 6)))!;
    expect(shim).toBeDefined();
    await suite!.kill9();
    await deleteLink(shim);
    // A child of an endpoint this instance (its tag is in the shim's name) has no record of.
    const stray = childName(shim.slice(5, 9), '0123456789abcdef');
    await ensureMacvlan(stray, l.parent, 'bridge');
    onTestFinished(() => deleteLink(stray));
    expect(await pings(addressIn(v4!, 10))).toBe(false);
    await suite!.restart();
    const links = await macvlanLinks();
    expect(links).toContain(shim);
    expect(links).not.toContain(stray);
    expect(await pings(addressIn(v4!, 10))).toBe(true);
  });
});
