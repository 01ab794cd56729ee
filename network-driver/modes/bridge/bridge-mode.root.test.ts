/**
 * Bridge mode on the real kernel, with no Docker: a throwaway namespace plays the host (FORWARD policy
 * DROP, as dockerd leaves it), further namespaces play containers and a "world" behind the host. The
 * test does what dockerd does with the Join answer (move the interface in, address it, route it) and
 * then checks reachability: ICC, isolation, internal, masquerade, published ports, hairpin, restore,
 * and that deleting everything leaves nothing of ours in the host namespace.
 */
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { run as runCommand } from '../../../common/kernel/exec.js';
import { links } from '../../../common/kernel/links-api.js';
import { listNftTables } from '../../../common/kernel/nftables.js';
import { runInNetns } from '../../../common/kernel/netns.js';
import { ipv6Disabled } from '../../../common/kernel/sysctl.js';
import { createLogger } from '../../../common/log.js';
import { networkRequests } from '../../../common/protocol/network-api.js';
import { MemoryStore } from '../../../common/store/memory-store.js';
import { skipUnlessIpv6 } from '../../../testing/kernel/ipv6.js';
import { isRoot, makeTestNetns } from '../../../testing/kernel/netns.js';
import { NetworkDriver } from '../../driver.js';
import { createBridgeMode } from './bridge-mode.js';
import { hostModeKernel } from '../kernel.js';
import { makeWorld, peerEchoServer, readFrom as fetch } from '../testing/fixture-world.js';

const log = createLogger({ stream: new PassThrough() });

/** A fresh "host" namespace with a tsnet driver (bridge mode) acting in it. */
async function host() {
  const ns = await makeTestNetns();
  await runInNetns(ns, ['iptables', '-P', 'FORWARD', 'DROP']);
  await runInNetns(ns, ['ip6tables', '-P', 'FORWARD', 'DROP']);
  const store = new MemoryStore();
  const tag = randomBytes(3).toString('hex');
  const make = () => new NetworkDriver({ modes: [createBridgeMode({ kernel: hostModeKernel({ netns: ns }), tag, log })], store, log, ipv6Disabled: () => ipv6Disabled({ netns: ns }) });
  return { ns, tag, store, driver: make(), restarted: make };
}
type Host = Awaited<ReturnType<typeof host>>;

const hex = (n: number) => randomBytes(n).toString('hex');

async function network(h: Host, subnet: string, opts: { generic?: Record<string, string>; internal?: boolean; v6?: string } = {}): Promise<string> {
  const id = hex(32);
  const gw = (c: string) => c.replace(/0\/(\d+)$/, '1/$1').replace(/::\/(\d+)$/, '::1/$1');
  await h.driver.createNetwork(
    networkRequests.CreateNetwork.parse({
      NetworkID: id,
      Options: { 'com.docker.network.generic': opts.generic ?? {}, 'com.docker.network.enable_ipv6': !!opts.v6, ...(opts.internal ? { 'com.docker.network.internal': true } : {}) },
      IPv4Data: [{ Pool: subnet, Gateway: gw(subnet) }],
      IPv6Data: opts.v6 ? [{ Pool: opts.v6, Gateway: gw(opts.v6) }] : [],
    }),
  );
  return id;
}

/** What dockerd does for a container: CreateEndpoint, Join, move + configure the interface, ProgramExternalConnectivity. */
async function container(h: Host, networkId: string, address: string, opts: { v6?: string; ports?: unknown[] } = {}) {
  const ns = await makeTestNetns();
  const id = hex(32);
  const made = await h.driver.createEndpoint(
    networkRequests.CreateEndpoint.parse({ NetworkID: networkId, EndpointID: id, Interface: { Address: address, AddressIPv6: opts.v6 ?? '', MacAddress: '' }, Options: {} }),
  );
  const options = opts.ports ? { 'com.docker.network.portmap': opts.ports } : {};
  const joined = await h.driver.join({ NetworkID: networkId, EndpointID: id, SandboxKey: `/run/netns/${ns}`, Options: options });
  const eth = `${joined.InterfaceName.DstPrefix}0`;
  await links.moveToNetns(joined.InterfaceName.SrcName, ns, { netns: h.ns, newName: eth });
  const ip = ['ip', '-n', ns];
  if (made.Interface?.MacAddress) await run([...ip, 'link', 'set', eth, 'address', made.Interface.MacAddress]);
  await run([...ip, 'addr', 'add', address, 'dev', eth]);
  if (opts.v6) await run([...ip, 'addr', 'add', opts.v6, 'dev', eth, 'nodad']);
  await run([...ip, 'link', 'set', eth, 'up']);
  if (joined.Gateway) await run([...ip, 'route', 'add', 'default', 'via', joined.Gateway]);
  if (joined.GatewayIPv6) await run([...ip, '-6', 'route', 'add', 'default', 'via', joined.GatewayIPv6]);
  await h.driver.programExternalConnectivity({ NetworkID: networkId, EndpointID: id, Options: options });
  return { ns, id, networkId, ip: address.split('/')[0]!, joined };
}

const run = (argv: string[]) => runCommand(argv, { object: argv.slice(0, 4).join(' '), step: 'run' });

/** Whether `ns` gets an answer to one ping of `to` within a second. */
async function pings(ns: string, to: string): Promise<boolean> {
  try {
    await run(['ip', 'netns', 'exec', ns, 'busybox', to.includes(':') ? 'ping6' : 'ping', '-c', '1', '-W', '1', to]);
    return true;
  } catch {
    return false;
  }
}

// Inside throwaway namespaces any prefix is safe: nothing here is routed to the real host.
const SUBNETS = ['10.201.1.0/24', '10.201.2.0/24'];
const WORLD = '10.201.9.0/30';

describe.skipIf(!isRoot)('bridge mode on the real kernel (throwaway namespaces)', () => {
  it('connects one network (IPv4 and IPv6) and isolates it from another, with FORWARD policy DROP', async (ctx) => {
    const h = await host();
    await skipUnlessIpv6(ctx, { netns: h.ns });
    const a = await network(h, SUBNETS[0]!, { v6: 'fd54:1::/64' });
    const b = await network(h, SUBNETS[1]!);
    const c1 = await container(h, a, '10.201.1.2/24', { v6: 'fd54:1::2/64' });
    const c2 = await container(h, a, '10.201.1.3/24', { v6: 'fd54:1::3/64' });
    const c3 = await container(h, b, '10.201.2.2/24');
    expect(await pings(c1.ns, c2.ip)).toBe(true);
    expect(await pings(c1.ns, 'fd54:1::3')).toBe(true);
    expect(await pings(c1.ns, '10.201.1.1')).toBe(true);
    expect(await pings(c1.ns, c3.ip)).toBe(false);
    expect(await pings(c3.ns, c1.ip)).toBe(false);
    // MTU from the "host" uplink: this namespace has no default route, so Ethernet's 1500; both ends agree.
    const inside = await runInNetns(c1.ns, ['cat', '/sys/class/net/eth0/mtu']);
    expect(inside.stdout.trim()).toBe('1500');
  });

  it('drops traffic between containers of one network with ICC off, but keeps their published ports', async () => {
    const h = await host();
    const n = await network(h, SUBNETS[0]!, { generic: { icc: 'false', mtu: '1300' } });
    const c1 = await container(h, n, '10.201.1.2/24', { ports: [{ Proto: 6, Port: 80, HostIP: '', HostPort: 8080, HostPortEnd: 8080 }] });
    const c2 = await container(h, n, '10.201.1.3/24');
    expect((await runInNetns(c1.ns, ['cat', '/sys/class/net/eth0/mtu'])).stdout.trim()).toBe('1300');
    expect(await pings(c2.ns, c1.ip)).toBe(false);
    await peerEchoServer(c1.ns, 80);
    expect(await fetch(c2.ns, '10.201.1.1', 8080)).toBe('10.201.1.1');
  });

  it('masquerades a normal network to a world behind the host, and gives an internal one no way out', async () => {
    const h = await host();
    const w = await makeWorld(WORLD, { hostNetns: h.ns });
    const normal = await network(h, SUBNETS[0]!);
    const internal = await network(h, SUBNETS[1]!, { internal: true });
    const out = await container(h, normal, '10.201.1.2/24');
    const shut = await container(h, internal, '10.201.2.2/24');
    expect(shut.joined.Gateway).toBeUndefined();
    await peerEchoServer(w.ns, 9000);
    // The world has no route back to 10.201.1.0/24: an answer proves masquerade, and it shows the host's address.
    expect(await fetch(out.ns, w.address, 9000)).toBe(w.hostSide);
    expect(await fetch(shut.ns, w.address, 9000)).toBe('');
    // Even with a route out, the firewall drops what leaves an internal network.
    await run(['ip', '-n', shut.ns, 'route', 'add', 'default', 'via', '10.201.2.1']);
    expect(await fetch(shut.ns, w.address, 9000)).toBe('');
    expect(await pings(shut.ns, '10.201.2.1')).toBe(true);
  });

  it('publishes ports to the host’s 127.0.0.1, to other namespaces and back to the container itself', async () => {
    const h = await host();
    const w = await makeWorld(WORLD, { hostNetns: h.ns });
    const n = await network(h, SUBNETS[0]!);
    const web = await container(h, n, '10.201.1.2/24', {
      ports: [
        { Proto: 6, Port: 80, HostIP: '', HostPort: 8080, HostPortEnd: 8080 },
        { Proto: 6, Port: 80, HostIP: '127.0.0.1', HostPort: 8081, HostPortEnd: 8081 },
      ],
    });
    await peerEchoServer(web.ns, 80);
    expect(await fetch(h.ns, '127.0.0.1', 8080)).toBe('10.201.1.1'); // loopback source, masqueraded
    expect(await fetch(h.ns, '127.0.0.1', 8081)).toBe('10.201.1.1');
    expect(await fetch(w.ns, w.hostSide, 8080)).toBe(w.address); // the client's own address is kept
    expect(await fetch(w.ns, w.hostSide, 8081)).toBe(''); // 127.0.0.1 only
    expect(await fetch(web.ns, '10.201.1.1', 8080)).toBe('10.201.1.1'); // hairpin
    await h.driver.revokeExternalConnectivity({ NetworkID: n, EndpointID: web.id });
    expect(await fetch(h.ns, '127.0.0.1', 8080)).toBe('');
  });

  it('restores after a crash: connectivity stays, leftovers of its own go, and removal leaves nothing', async () => {
    const h = await host();
    const n = await network(h, SUBNETS[0]!);
    const c1 = await container(h, n, '10.201.1.2/24');
    const c2 = await container(h, n, '10.201.1.3/24');
    // A leftover bridge of this instance (same MAC) that no record owns, and one of another instance.
    const mine = (await links.findLink(`tsbr-${n.slice(0, 10)}`, { netns: h.ns }))!;
    await links.ensureBridge('tsbr-leftover', { netns: h.ns, mac: mine.mac });
    await links.ensureBridge('tsbr-notmine', { netns: h.ns, mac: '02:74:73:00:00:01' });
    await runInNetns(h.ns, ['nft', 'flush', 'ruleset']); // the crash also lost the firewall
    h.driver = h.restarted();
    await h.driver.restore();
    expect(await pings(c1.ns, c2.ip)).toBe(true);
    const names = (await links.listLinks('tsbr-', { netns: h.ns })).map((l) => l.name);
    expect(names).toContain('tsbr-notmine');
    expect(names).not.toContain('tsbr-leftover');

    for (const c of [c1, c2]) await h.driver.deleteEndpoint({ NetworkID: n, EndpointID: c.id });
    await h.driver.deleteNetwork({ NetworkID: n });
    expect((await links.listLinks('ts', { netns: h.ns })).map((l) => l.name)).toEqual(['tsbr-notmine']);
    expect(await listNftTables('tsnet', { netns: h.ns })).toEqual([]);
    expect((await runInNetns(h.ns, ['iptables', '-S'])).stdout).not.toContain('TSNET');
    expect((await runInNetns(h.ns, ['ip6tables', '-S'])).stdout).not.toContain('TSNET');
  });
});
