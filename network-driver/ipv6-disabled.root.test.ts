/**
 * @module A host with IPv6 turned off (`net.ipv6.conf.all.disable_ipv6=1`, as in many containers and
 * VMs), played by a throwaway namespace: the check names the sysctl; tsnet (bridge and none modes) and
 * tsipam refuse IPv6 networks and pools with that reason and create nothing; IPv4 still works there.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { listLinks } from '../common/kernel/links.js';
import { listNftTables } from '../common/kernel/nftables.js';
import { ipv6Disabled, writeSysctl } from '../common/kernel/sysctl.js';
import { createLogger } from '../common/log.js';
import { networkRequests } from '../common/protocol/network-api.js';
import { MemoryStore } from '../common/store/memory-store.js';
import { isRoot, makeTestNetns } from '../testing/kernel/netns.js';
import { createIpamDriver } from '../ipam/driver.js';
import { testAllocator } from '../ipam/testing/fixture-allocator.js';
import { NetworkDriver } from './driver.js';
import { createBridgeMode } from './modes/bridge/bridge-mode.js';
import { hostModeKernel } from './modes/kernel.js';
import { createNoneMode } from './modes/none/none-mode.js';
import { refusal } from '../testing/refusal.js';

const log = createLogger({ stream: new PassThrough() });
const kernelHasIpv6 = existsSync('/proc/sys/net/ipv6');
if (!kernelHasIpv6) console.warn('IPv6-off tests skipped: this kernel has no IPv6 at all, so a namespace cannot show it being turned off');

/** A namespace with IPv6 turned off by `key`. */
async function ipv6OffNetns(key = 'net.ipv6.conf.all.disable_ipv6'): Promise<string> {
  const ns = await makeTestNetns();
  await writeSysctl(key, 1, { netns: ns });
  return ns;
}

function createRequest(mode: string, v6: boolean) {
  return networkRequests.CreateNetwork.parse({
    NetworkID: randomBytes(32).toString('hex'),
    Options: { 'com.docker.network.generic': { mode }, 'com.docker.network.enable_ipv6': v6 },
    IPv4Data: [{ Pool: '10.201.7.0/24', Gateway: '10.201.7.1/24' }],
    IPv6Data: v6 ? [{ Pool: 'fd54:7::/64', Gateway: 'fd54:7::1/64' }] : [],
  });
}

describe.skipIf(!isRoot || !kernelHasIpv6)('IPv6 turned off (throwaway namespace)', () => {
  it('the check names the sysctl that turned IPv6 off, per namespace, without touching the host', async () => {
    const host = (await readFile('/proc/sys/net/ipv6/conf/all/disable_ipv6', 'utf8')).trim();
    expect(await ipv6Disabled({ netns: await makeTestNetns() })).toBeUndefined();
    const all = await ipv6OffNetns();
    expect(await ipv6Disabled({ netns: all })).toBe(`IPv6 is disabled in network namespace "${all}" (sysctl net.ipv6.conf.all.disable_ipv6=1)`);
    // Only `default` (what new interfaces, such as a network's bridge and veths, get) off is off too.
    const dflt = await ipv6OffNetns('net.ipv6.conf.default.disable_ipv6');
    expect(await ipv6Disabled({ netns: dflt })).toBe(`IPv6 is disabled in network namespace "${dflt}" (sysctl net.ipv6.conf.default.disable_ipv6=1)`);
    expect((await readFile('/proc/sys/net/ipv6/conf/all/disable_ipv6', 'utf8')).trim()).toBe(host);
  });

  it.each(['bridge', 'none'])('tsnet mode %s refuses an --ipv6 network with that reason and creates nothing; IPv4 works', async (mode) => {
    const ns = await ipv6OffNetns();
    const store = new MemoryStore();
    const tag = randomBytes(3).toString('hex');
    const driver = new NetworkDriver({
      modes: [createNoneMode(), createBridgeMode({ kernel: hostModeKernel({ netns: ns }), tag, log })],
      store,
      log,
      ipv6Disabled: () => ipv6Disabled({ netns: ns }),
    });
    const linksBefore = (await listLinks('', { netns: ns })).map((l) => l.name);
    await expect(driver.createNetwork(createRequest(mode, true))).rejects.toThrow(
      refusal('ERR_INVALID_REQUEST', `IPv6 is disabled in network namespace "${ns}" (sysctl net.ipv6.conf.all.disable_ipv6=1): an IPv6 network (--ipv6) cannot work here`),
    );
    expect(await driver.status()).toEqual([]);
    expect((await listLinks('', { netns: ns })).map((l) => l.name)).toEqual(linksBefore);
    expect(await listNftTables(undefined, { netns: ns })).toEqual([]);

    const v4 = createRequest(mode, false);
    await driver.createNetwork(v4);
    expect((await driver.status()).map((s) => s.net.id)).toEqual([v4.NetworkID]);
    await driver.deleteNetwork({ NetworkID: v4.NetworkID });
  });

  it('tsipam refuses an IPv6 pool with that reason and allocates nothing; IPv4 pools work', async () => {
    const ns = await ipv6OffNetns();
    const { allocator } = await testAllocator();
    const ipam = createIpamDriver(allocator, () => ipv6Disabled({ netns: ns }));
    await expect(ipam.requestPool({ AddressSpace: 'LocalDefault', Pool: 'fd54:8::/64', SubPool: '', Options: {}, V6: true })).rejects.toThrow(
      refusal('ERR_INVALID_REQUEST', /^IPv6 is disabled in network namespace ".*" \(sysctl net\.ipv6\.conf\.all\.disable_ipv6=1\): tsipam gives no IPv6 pool/),
    );
    await expect(ipam.requestPool({ AddressSpace: 'LocalDefault', Pool: '', SubPool: '', Options: {}, V6: true })).rejects.toThrow(refusal('ERR_INVALID_REQUEST', /IPv6 is disabled/));
    expect(allocator.list()).toEqual([]);
    const pool = await ipam.requestPool({ AddressSpace: 'LocalDefault', Pool: '10.201.8.0/24', SubPool: '', Options: {}, V6: false });
    expect(pool.Pool).toBe('10.201.8.0/24');
  });
});
