import { randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { links } from '../kernel/links-api.js';
import { createLogger } from '../log.js';
import { freePort, useTestEtcd } from '../../testing/cluster/etcd.js';
import { makeTestNetns } from '../../testing/kernel/netns.js';
import { resolveAdvertise } from './advertise.js';
import { createEtcdClient } from './etcd-client.js';
import { HELD_PREFIX, HOSTS_PREFIX, openClusterSession, type ClusterSessionOptions } from './session.js';
import type { ClusterSession } from './types.js';

const ctx = useTestEtcd();
const log = createLogger({ level: 'error' });

/** A state directory removed when the test ends. */
function stateDir(): string {
  const dir = `/tmp/tstest-session-${randomBytes(4).toString('hex')}`;
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function open(opts: Partial<ClusterSessionOptions> & { stateDir: string }): Promise<ClusterSession> {
  const s = await openClusterSession({ client: ctx.client, advertise: '127.0.0.1', ttlSeconds: 2, graceSeconds: 30, log, ...opts });
  onTestFinished(() => s.close());
  return s;
}

describe('cluster session', () => {
  it('puts the host key on the live lease and the hold key on the hold lease', async () => {
    const dir = stateDir();
    const s = await open({ stateDir: dir });
    expect(s.hostId).toMatch(/^[0-9a-f]{16}$/);
    expect((await readFile(`${dir}/host-id`, 'utf8')).trim()).toBe(s.hostId);
    expect(s.advertiseAddr).toBe('127.0.0.1');
    expect(s.advertiseMtu).toBe((await links.findLink('lo'))?.mtu);
    const host = await ctx.client.get(`${HOSTS_PREFIX}${s.hostId}`);
    expect(host?.lease).toBe(s.liveLease());
    expect(JSON.parse(host!.value)).toMatchObject({ vtep: '127.0.0.1', mtu: s.advertiseMtu, since: expect.any(String) });
    const held = await ctx.client.get(`${HELD_PREFIX}${s.hostId}`);
    expect(held?.lease).not.toBe('0');
    expect(held?.lease).not.toBe(s.liveLease());
    expect(await s.isHeld(s.hostId)).toBe(true);
    expect(await s.isHeld('0000000000000000')).toBe(false);
  });

  it('takes its leases over when reopened within the TTL, and keeps them alive', async () => {
    const dir = stateDir();
    const first = await open({ stateDir: dir });
    const lease = first.liveLease();
    await first.close();
    const again = await open({ stateDir: dir });
    expect(again.hostId).toBe(first.hostId);
    expect(again.liveLease()).toBe(lease);
    await new Promise((r) => setTimeout(r, 3000)); // longer than the TTL: the keep-alives hold it
    expect((await ctx.client.get(`${HOSTS_PREFIX}${again.hostId}`))?.lease).toBe(lease);
  });

  it('grants a new live lease when the old one is gone, puts the host key again and runs onRenewed', async () => {
    const dir = stateDir();
    const s = await open({ stateDir: dir });
    let runs = 0;
    let failOnce = true;
    s.onRenewed(async () => {
      runs++;
    });
    let flakyRuns = 0;
    s.onRenewed(async () => {
      flakyRuns++;
      if (failOnce) {
        failOnce = false;
        throw new Error('etcd hiccup');
      }
    });
    // Both ran once at registration; the one that failed is retried at the next keep-alive only.
    await vi.waitFor(() => expect([runs, flakyRuns]).toEqual([1, 1]));
    await vi.waitFor(() => expect(flakyRuns).toBe(2));
    expect(runs).toBe(1);
    const old = s.liveLease();
    await ctx.client.revokeLease(old); // from outside, as if it had expired while etcd was away
    expect(await ctx.client.get(`${HOSTS_PREFIX}${s.hostId}`)).toBeUndefined();
    await vi.waitFor(() => expect([runs, flakyRuns]).toEqual([2, 3]));
    expect(s.liveLease()).not.toBe(old);
    expect((await ctx.client.get(`${HOSTS_PREFIX}${s.hostId}`))?.lease).toBe(s.liveLease());
    expect(JSON.parse(await readFile(`${dir}/cluster-leases.json`, 'utf8'))).toMatchObject({ live: s.liveLease() });
    // The hold lease likewise, without onRenewed: nothing else is on it.
    const heldKey = `${HELD_PREFIX}${s.hostId}`;
    const hold = (await ctx.client.get(heldKey))!.lease;
    await ctx.client.revokeLease(hold);
    await vi.waitFor(async () => expect((await ctx.client.get(heldKey))?.lease).toMatch(/^[1-9]\d*$/));
    expect((await ctx.client.get(heldKey))?.lease).not.toBe(hold);
    expect(runs).toBe(2);
  });

  it('refuses to start when etcd does not answer, saying why', async () => {
    const dead = createEtcdClient([`http://127.0.0.1:${await freePort('127.0.0.1')}`], { timeoutMs: 200 });
    onTestFinished(() => dead.close());
    const err = await openClusterSession({ client: dead, stateDir: stateDir(), advertise: '127.0.0.1', log, startTimeoutMs: 600 }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^etcd is unreachable \(http:\/\/127\.0\.0\.1:\d+: connect ECONNREFUSED .*tsnet serve does not start without its cluster store/);
  });
});

describe('--advertise-addr', () => {
  it('resolves an interface to its first global address and MTU, and checks an IP is local', async () => {
    const netns = await makeTestNetns();
    await links.ensureBridge('tstestadv0', { netns, mtu: 1400 });
    await links.ensureAddress('tstestadv0', 'fd00:77::5/64', { netns, nodad: true });
    await links.ensureAddress('tstestadv0', '10.77.0.5/24', { netns });
    expect(await resolveAdvertise('tstestadv0', { netns })).toEqual({ addr: '10.77.0.5', link: 'tstestadv0', mtu: 1400 });
    expect(await resolveAdvertise('fd00:77:0::5', { netns })).toEqual({ addr: 'fd00:77::5', link: 'tstestadv0', mtu: 1400 });
    await links.deleteAddress('tstestadv0', '10.77.0.5/24', { netns });
    expect(await resolveAdvertise('tstestadv0', { netns })).toMatchObject({ addr: 'fd00:77::5' });
  });

  it('names what is wrong', async () => {
    const dir = stateDir();
    await expect(open({ stateDir: dir, advertise: '192.0.2.77' })).rejects.toThrow(/--advertise-addr 192\.0\.2\.77 is not an address of this host \(global IPv4 addresses here: /);
    await expect(open({ stateDir: dir, advertise: 'nosuchif0' })).rejects.toThrow(/--advertise-addr "nosuchif0" is neither an IP address nor an interface of this host \(interfaces: .*lo/);
    await expect(open({ stateDir: dir, advertise: 'lo' })).rejects.toThrow(/interface lo has no global IPv4 or IPv6 address/);
  });
});
