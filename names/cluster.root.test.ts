/**
 * Overlay names through a real etcd (a throwaway member on loopback): what one host publishes reaches
 * another host's registry by the watch, in the overlay's scope only; a change and a removal follow; a
 * host whose live lease is revoked (gone past its TTL) loses its names everywhere; a host that starts
 * later reads what is already there. Hosts here are two cluster sessions with their own host IDs.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { openClusterSession } from '../common/cluster/session.js';
import type { ClusterSession } from '../common/cluster/types.js';
import { createLogger } from '../common/log.js';
import { useTestEtcd } from '../testing/cluster/etcd.js';
import { NAMES_PREFIX, NameCluster } from './cluster.js';
import { NameRegistry, type LocalEndpoint } from './registry.js';

const ctx = useTestEtcd();
const log = createLogger({ level: 'error' });

/** A host: session (own state dir), registry, and its NameCluster, all closed when the test ends. */
async function host(): Promise<{ session: ClusterSession; registry: NameRegistry; names: NameCluster }> {
  const dir = `/tmp/tstest-names-${randomBytes(4).toString('hex')}`;
  const session = await openClusterSession({ client: ctx.client, stateDir: dir, advertise: '127.0.0.1', ttlSeconds: 2, graceSeconds: 30, log });
  const registry = new NameRegistry({ log, hostId: session.hostId });
  const names = new NameCluster({ session, registry, log });
  await names.start();
  onTestFinished(async () => {
    names.close();
    await session.close();
    await rm(dir, { recursive: true, force: true });
    await ctx.client.delete(`${NAMES_PREFIX}`, { prefix: true });
  });
  return { session, registry, names };
}

const ep = (containerId: string, scope: string, ipv4: string, names: string[]): LocalEndpoint => ({ networkId: 'n', endpointId: `ep-${containerId}`, containerId, scope, names, ipv4 });

describe('names shared through etcd', () => {
  it("gives another host's overlay names to askers on that overlay, follows changes and removal", async () => {
    const a = await host();
    const b = await host();
    b.registry.setLocal([ep('asker', 'vni:77', '10.7.0.9', ['asker']), ep('lonely', 'net:local', '10.8.0.9', ['lonely'])]);
    a.registry.setLocal([ep('web', 'vni:77', '10.7.0.2', ['web', 'www']), ep('db', 'net:x', '10.6.0.2', ['db'])]);
    await a.names.publish();
    await vi.waitFor(() => expect(b.registry.lookup('10.7.0.9', 'www', 4)).toEqual({ addresses: ['10.7.0.2'] }), { timeout: 3000 });
    expect(b.registry.lookup('10.7.0.9', 'db', 4)).toBeUndefined(); // single-host networks are never published
    expect(b.registry.lookup('10.8.0.9', 'web', 4)).toBeUndefined(); // another network of B
    expect((await ctx.client.range(NAMES_PREFIX)).kvs.map((kv) => kv.lease)).toEqual([a.session.liveLease()]);

    a.registry.setLocal([ep('web', 'vni:77', '10.7.0.3', ['web'])]);
    await a.names.publish();
    await vi.waitFor(() => expect(b.registry.lookup('10.7.0.9', 'web', 4)).toEqual({ addresses: ['10.7.0.3'] }), { timeout: 3000 });
    expect(b.registry.lookup('10.7.0.9', 'www', 4)).toBeUndefined();

    a.registry.setLocal([]);
    await a.names.publish();
    await vi.waitFor(() => expect(b.registry.lookup('10.7.0.9', 'web', 4)).toBeUndefined(), { timeout: 3000 });
  });

  it('drops the names of a host whose lease is gone, and gives a later host what is there', async () => {
    const a = await host();
    a.registry.setLocal([ep('web', 'vni:78', '10.7.1.2', ['web'])]);
    await a.names.publish();
    const c = await host();
    c.registry.setLocal([ep('asker', 'vni:78', '10.7.1.9', ['asker'])]);
    expect(c.registry.lookup('10.7.1.9', 'web', 4)).toEqual({ addresses: ['10.7.1.2'] });
    await ctx.client.revokeLease(a.session.liveLease()); // what etcd does when the TTL runs out
    await vi.waitFor(() => expect(c.registry.lookup('10.7.1.9', 'web', 4)).toBeUndefined(), { timeout: 3000 });
  });
});
