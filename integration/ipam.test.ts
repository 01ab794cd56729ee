/**
 * tsipam end to end with a bridge network driver and `--ipam-driver <ours>`: automatic and explicit
 * pools, ip-range/gateway/aux, IPv6, `--ip`, distinct addresses, `network inspect`, release on `rm`, bad
 * input, and the `tsnet ipam` CLI (ls, inspect, gc). Written against the shared `Runtime` and run on
 * dockerd, with its own `bridge` driver, and on engine-lite, which has no built-in driver and uses
 * tsnet's `-o mode=bridge`. The default pools are pointed at the suite's test range through
 * TSIPAM_DEFAULT_POOLS, so nothing overlaps the host's networks.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PoolView, TsnetIpamResponses } from '../ipam/admin/admin-api.js';
import { overlaps, parsePrefix } from '../common/addr/prefix.js';
import { freeSubnets } from '../testing/kernel/subnets.js';
import { makeRuntime, RUNTIME_NAMES, type ScenarioRuntime } from '../testing/docker/engine-lite-runtime.js';
import { cliPath, pluginCall, startSuite, type SuiteHandle } from '../testing/docker/plugin-harness.js';
import { mustRun } from '../testing/system.js';
import { skipUnlessIpv6 } from '../testing/kernel/ipv6.js';

interface NetworkInspect {
  Id: string;
  EnableIPv6: boolean;
  IPAM: { Driver: string; Options: Record<string, string> | null; Config: Array<{ Subnet: string; IPRange?: string; Gateway?: string; AuxiliaryAddresses?: Record<string, string> }> };
}

describe.each(RUNTIME_NAMES)('tsipam on %s with a bridge driver', (runtimeName) => {
  let suite: SuiteHandle;
  let rt: ScenarioRuntime;
  /** `network create` flags naming the bridge driver: dockerd's own, or tsnet's bridge mode on engine-lite. */
  let bridge: string[];
  let defaultBase: string; // the /20 the automatic pools come from
  let subnets: string[]; // free /24s for explicit pools
  let v6: string; // a free /64
  const hex = randomBytes(3).toString('hex');
  const networks = new Set<string>();
  const containers = new Set<string>();
  const savedEnv = process.env.TSIPAM_DEFAULT_POOLS;

  const netName = (base: string) => {
    const n = `tstest-ipam-${hex}-${base}`;
    networks.add(n);
    return n;
  };
  const create = async (base: string, ...flags: string[]) => {
    const n = netName(base);
    await rt.ok(['network', 'create', ...bridge, '--ipam-driver', rt.drivers.ipam, ...flags, n]);
    return n;
  };
  const inspect = async (n: string) => (JSON.parse(await rt.ok(['network', 'inspect', n])) as NetworkInspect[])[0]!;
  /** Starts a sleeping container on `network`; returns its IPv4 and IPv6 addresses there. */
  const start = async (network: string, ...flags: string[]) => {
    const c = `tstest-ipam-${hex}-c${containers.size}`;
    containers.add(c);
    await rt.ok(['run', '-d', '--name', c, '--network', network, ...flags, rt.image, 'sleep', '600']);
    const fmt = `{{with index .NetworkSettings.Networks "${network}"}}{{.IPAddress}} {{.GlobalIPv6Address}}{{end}}`;
    const [ip4 = '', ip6 = ''] = (await rt.ok(['inspect', '-f', fmt, c])).trim().split(' ');
    return { name: c, ip4, ip6 };
  };
  const tsnet = async (...args: string[]) => (await mustRun([process.execPath, cliPath(), 'ipam', ...args, '--plugins-dir', suite.pluginsDir])).stdout;
  const pools = async () => JSON.parse(await tsnet('ls', '--json')) as PoolView[];
  // Checks about dockerd itself (its restart; gc reading its networks) exist on docker only.
  const dockerOnly = (name: string, fn: () => Promise<void>) => {
    if (runtimeName === 'docker') it(name, fn);
  };

  beforeAll(async () => {
    defaultBase = (await freeSubnets(1, { family: 4, prefixLen: 20 }))[0]!;
    const base = parsePrefix(defaultBase)!;
    subnets = (await freeSubnets(24, { family: 4, prefixLen: 24 })).filter((s) => !overlaps(parsePrefix(s)!, base)).slice(0, 8);
    v6 = (await freeSubnets(1, { family: 6, prefixLen: 64 }))[0]!;
    process.env.TSIPAM_DEFAULT_POOLS = `${defaultBase}:24`; // inherited by the plugin process
    suite = await startSuite({ only: runtimeName === 'docker' ? ['ipam'] : ['ipam', 'network'] });
    rt = await makeRuntime(runtimeName, suite, inject('testImage'));
    bridge = runtimeName === 'docker' ? ['--driver', 'bridge'] : ['--driver', rt.drivers.network, '-o', 'mode=bridge'];
  });

  afterAll(async () => {
    if (savedEnv === undefined) delete process.env.TSIPAM_DEFAULT_POOLS;
    else process.env.TSIPAM_DEFAULT_POOLS = savedEnv;
    for (const c of containers) await rt?.cli(['rm', '-f', c]);
    for (const n of networks) await rt?.cli(['network', 'rm', n]);
    await rt?.cleanup();
    await suite?.stop();
  });

  it('creates a network with no subnet from the configured default pool, and inspect shows it', async () => {
    const n = await create('auto');
    const net = await inspect(n);
    const first = defaultBase.replace(/\.0\/20$/, '.0/24');
    expect(net.IPAM).toMatchObject({ Driver: rt.drivers.ipam, Config: [{ Subnet: first, Gateway: first.replace('.0/24', '.1') }] });
    const c = await start(n);
    expect(c.ip4).toBe(first.replace('.0/24', '.2'));
    expect((await pools()).find((p) => p.Subnet === first)).toMatchObject({ Auto: true, Used: '2' });
  });

  it('uses --subnet, gives containers distinct addresses and `--ip` the address asked for', async () => {
    const subnet = subnets[0]!;
    const n = await create('subnet', '--subnet', subnet);
    // Docker 20.10 lists no Gateway unless --gateway was given; ours holds .1 as the gateway.
    expect((await inspect(n)).IPAM.Config).toMatchObject([{ Subnet: subnet }]);
    const held = JSON.parse(await tsnet('inspect', subnet, '--json')) as TsnetIpamResponses['Inspect'];
    expect(held.Addresses).toMatchObject([{ Address: subnet.replace('.0/24', '.1'), Kind: 'gateway' }]);
    const a = await start(n);
    const b = await start(n);
    expect(a.ip4).not.toBe(b.ip4);
    expect([a.ip4, b.ip4]).toEqual([subnet.replace('.0/24', '.2'), subnet.replace('.0/24', '.3')]);
    const fixed = subnet.replace('.0/24', '.77');
    expect((await start(n, '--ip', fixed)).ip4).toBe(fixed);
    const taken = await rt.cli(['run', '--rm', '--network', n, '--ip', fixed, rt.image, 'true']);
    expect(taken.code).not.toBe(0);
    expect(taken.stderr).toContain('Address already in use');
  });

  it('honours --ip-range, --gateway and --aux-address (aux outside the range too)', async () => {
    const subnet = subnets[1]!;
    const at = (host: number) => subnet.replace('.0/24', `.${host}`);
    const range = subnet.replace('.0/24', '.128/25');
    const n = await create('range', '--subnet', subnet, '--ip-range', range, '--gateway', at(254), '--aux-address', `router=${at(10)}`, '--aux-address', `dns=${at(200)}`);
    expect((await inspect(n)).IPAM.Config).toEqual([
      { Subnet: subnet, IPRange: range, Gateway: at(254), AuxiliaryAddresses: { router: at(10), dns: at(200) } },
    ]);
    expect((await start(n)).ip4).toBe(at(128));
    const held = JSON.parse(await tsnet('inspect', subnet, '--json')) as TsnetIpamResponses['Inspect'];
    expect(held.Addresses.map((a) => [a.Address, a.Kind])).toEqual([
      [at(10), 'aux'],
      [at(128), 'endpoint'],
      [at(200), 'aux'],
      [at(254), 'gateway'],
    ]);
    expect(held.Addresses[1]!.MAC).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
  });

  it('creates an IPv6 network from --ipv6 --subnet fd…/64 and gives containers addresses in it', async (ctx) => {
    await skipUnlessIpv6(ctx);
    const n = await create('v6', '--ipv6', '--subnet', subnets[2]!, '--subnet', v6);
    const net = await inspect(n);
    expect(net.EnableIPv6).toBe(true);
    expect(net.IPAM.Config.map((c) => c.Subnet)).toEqual([subnets[2], v6]);
    const c = await start(n);
    expect(c.ip6).toBe(v6.replace('::/64', '::2'));
  });

  it('releases the pool on `docker network rm`, so the same subnet can be created again', async () => {
    const subnet = subnets[3]!;
    const n = await create('again', '--subnet', subnet, '--aux-address', `x=${subnet.replace('.0/24', '.9')}`);
    await rt.ok(['network', 'rm', n]);
    expect((await pools()).find((p) => p.Subnet === subnet)).toBeUndefined();
    await create('again', '--subnet', subnet);
    expect((await pools()).find((p) => p.Subnet === subnet)).toMatchObject({ Used: '1' });
  });

  it('refuses bad input with its reason, creating nothing', async () => {
    const before = await pools();
    const overlap = await rt.cli(['network', 'create', ...bridge, '--ipam-driver', rt.drivers.ipam, '--subnet', subnets[0]!.replace('.0/24', '.0/25'), netName('overlap')]);
    expect(overlap.code).not.toBe(0);
    expect(overlap.stderr).toContain(`overlaps pool LocalDefault/${subnets[0]}`);
    const hostBits = await rt.cli(['network', 'create', ...bridge, '--ipam-driver', rt.drivers.ipam, '--subnet', subnets[4]!.replace('.0/24', '.5/24'), netName('bits')]);
    expect(hostBits.code).not.toBe(0);
    const badOpt = await rt.cli(['network', 'create', ...bridge, '--ipam-driver', rt.drivers.ipam, '--subnet', subnets[4]!, '--ipam-opt', 'com.docker.network.ipam.serial=maybe', netName('opt')]);
    expect(badOpt.stderr).toContain('must be "true" or "false"');
    expect(await pools()).toEqual(before);
  });

  it('keeps working across a plugin kill -9, handing out and releasing addresses as before', async () => {
    const subnet = subnets[6]!;
    const n = await create('kill9', '--subnet', subnet);
    const before = await start(n);
    await suite.kill9();
    await suite.restart();
    const after = await start(n);
    expect(after.ip4).toBe(subnet.replace('.0/24', '.3'));
    for (const c of [before.name, after.name]) {
      await rt.ok(['rm', '-f', c]);
      containers.delete(c);
    }
    expect((await pools()).find((p) => p.Subnet === subnet)).toMatchObject({ Used: '1' });
    await rt.ok(['network', 'rm', n]);
    expect((await pools()).find((p) => p.Subnet === subnet)).toBeUndefined();
  });

  // Docker only: this is about dockerd restarting (a private one), which releases the addresses of
  // the containers it stopped when it starts again. engine-lite has no daemon to restart.
  dockerOnly('keeps working across a plugin kill -9 and a dockerd restart, without request replay', async () => {
    const { startPrivateDockerd } = await import('../testing/docker/private-dockerd.js');
    const daemon = await startPrivateDockerd(rt.image);
    try {
      const prt = daemon.runtime(rt.drivers, rt.image);
      const subnet = subnets[4]!;
      const n = `tstest-ipam-${hex}-restart`;
      await prt.ok(['network', 'create', '--driver', 'bridge', '--ipam-driver', prt.drivers.ipam, '--subnet', subnet, n]);
      await prt.ok(['run', '-d', '--name', `${n}-c`, '--network', n, prt.image, 'sleep', '600']);
      await suite.kill9();
      await suite.restart();
      await daemon.restart(); // the container stops; dockerd releases its address at start-up
      const ip = async () => (await prt.ok(['run', '--rm', '--network', n, prt.image, 'sh', '-c', 'ip -o -4 addr show eth0'])).split(/\s+/)[3];
      const fresh = await ip();
      expect(fresh).toMatch(new RegExp(`^${subnet.replace('.0/24', '').replace(/\./g, '\\.')}\\.\\d+/24$`));
      expect(fresh).not.toBe(subnet.replace('.0/24', '.1/24'));
      await prt.ok(['start', `${n}-c`]);
      await prt.ok(['rm', '-f', `${n}-c`]);
      await prt.ok(['network', 'rm', n]);
      expect((await pools()).find((p) => p.Subnet === subnet)).toBeUndefined();
    } finally {
      await daemon.stop();
    }
  });

  it('lists pools as a table with used, free and usable counts', async () => {
    const subnet = subnets[7]!;
    await start(await create('table', '--subnet', subnet));
    const table = await tsnet('ls');
    expect(table.split('\n')[0]).toMatch(/^POOL ID\s+SUBNET\s+IP RANGE\s+USED\s+FREE\s+SIZE\s+CREATED$/);
    expect(table).toMatch(new RegExp(`LocalDefault/${subnet.replace(/\./g, '\\.')}\\s+${subnet.replace(/\./g, '\\.')}\\s+-\\s+2\\s+252\\s+254`));
  });

  // Docker only: gc compares tsipam's records with what dockerd knows (`docker network inspect`).
  // engine-lite's networks are not part of that view, so gc would take their addresses for leaks.
  dockerOnly('gc finds and releases only what Docker does not know', async () => {
    const subnet = subnets[5]!;
    const n = await create('gc', '--subnet', subnet);
    const live = await start(n);
    const PoolID = `LocalDefault/${subnet}`;
    // An address Docker never knew about (as after a crash between our reply and dockerd's commit).
    const leaked = await pluginCall(suite.sockets.ipam, 'IpamDriver.RequestAddress', { PoolID, Address: '', Options: {} });
    const leakedIp = (leaked.json as { Address: string }).Address.split('/')[0]!;
    const dry = await tsnet('gc', '--dry-run');
    expect(dry).toContain(leakedIp);
    expect(dry).not.toContain(`${live.ip4} `);
    expect(dry).toMatch(/would release \d+ address/);
    expect((await pools()).find((p) => p.Subnet === subnet)!.Used).toBe('3');
    const done = JSON.parse(await tsnet('gc', '--json')) as TsnetIpamResponses['Gc'];
    expect(done.Items).toContainEqual({ PoolID, Address: leakedIp, Reason: 'address unknown to docker' });
    expect(done.Items.some((i) => i.Address === live.ip4)).toBe(false);
    expect((await pools()).find((p) => p.Subnet === subnet)!.Used).toBe('2');
    // The container's network still works: its address was left alone.
    expect((await start(n)).ip4).not.toBe(live.ip4);
  });
});
