/**
 * @module PeerSync against a real etcd (its watch) and the recording fake kernel: one endpoint event
 * on a network with many peers programs that endpoint's entries and nothing else, and a restart reads
 * the same entries back in one pass.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { describe, expect, it, onTestFinished } from 'vitest';
import { openClusterSession } from '../../../common/cluster/session.js';
import { createLogger } from '../../../common/log.js';
import { useTestEtcd } from '../../../testing/cluster/etcd.js';
import { isRoot } from '../../../testing/kernel/netns.js';
import { pollUntil } from '../../../testing/system.js';
import { fakeKernel } from '../testing/fake-kernel.js';
import { endpointKey, ENDPOINTS, OverlayCluster } from './cluster.js';
import { PeerSync } from './peers.js';

const etcd = useTestEtcd();
const VNI = 4321;
const DEV = 'tstestvx0';
const PEERS = 300;

const mac = (n: number) => `02:42:0a:15:${(n >> 8).toString(16).padStart(2, '0')}:${(n & 0xff).toString(16).padStart(2, '0')}`;
const ip = (n: number) => `10.21.${n >> 8}.${n & 0xff}`;
const publish = (n: number, vtep = `192.0.2.${1 + (n % 5)}`) => etcd.client.put(endpointKey(VNI, `h${n % 5}`, `e${n}`), JSON.stringify({ vtep, mac: mac(n), ip: ip(n) }));

describe.skipIf(!isRoot)('overlay peers from a real etcd watch', () => {
  it('programs only the endpoint an event is about, and a restart finds the device in sync', async () => {
    const log = createLogger({ level: 'error' });
    const stateDir = `/tmp/tstest-peers-${randomBytes(4).toString('hex')}`;
    onTestFinished(() => rm(stateDir, { recursive: true, force: true }));
    onTestFinished(() => etcd.client.delete(`${ENDPOINTS}${VNI}/`, { prefix: true }).then(() => undefined));
    const session = await openClusterSession({ client: etcd.client, stateDir, advertise: '127.0.0.1', ttlSeconds: 5, log });
    onTestFinished(() => session.close());
    for (let n = 0; n < PEERS; n++) await publish(n);
    const kernel = fakeKernel();
    const sync = new PeerSync(kernel, new OverlayCluster(session), log);
    onTestFinished(() => sync.close());
    await sync.attach(VNI, DEV);
    expect(kernel.changes().filter((c) => c.startsWith('ensureFdb'))).toHaveLength(PEERS);

    const changes = async (write: () => Promise<unknown>, expected: number) => {
      kernel.calls.length = 0;
      await write();
      await pollUntil(async () => kernel.changes().length >= expected, { timeoutMs: 5000, intervalMs: 10 });
      await new Promise((r) => setTimeout(r, 200)); // anything more would show by now
      return kernel.calls;
    };
    expect(await changes(() => publish(PEERS), 2)).toEqual([`ensureFdb ${DEV} ${mac(PEERS)} 192.0.2.1`, `ensureNeighbor ${DEV} ${ip(PEERS)} ${mac(PEERS)}`]);
    expect(await changes(() => publish(7, '192.0.2.77'), 1)).toEqual([`ensureFdb ${DEV} ${mac(7)} 192.0.2.77`]);
    expect(await changes(() => etcd.client.delete(endpointKey(VNI, 'h3', 'e8')), 2)).toEqual([`deleteNeighbor ${DEV} ${ip(8)}`, `deleteFdb ${DEV} ${mac(8)}`]);

    // A resync (restart, watch reset) reads everything again and finds nothing to change.
    kernel.calls.length = 0;
    await sync.resync();
    expect(kernel.changes()).toEqual([]);
    expect(kernel.fdb.size).toBe(PEERS);
  });
});
