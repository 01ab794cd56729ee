/**
 * @module Unit tests of the metrics: one snapshot (as the StateReader reads it from the plugins) is
 * rendered into the exposition text, every count under its name and bounded labels; label sets that
 * are gone from the next snapshot are dropped; the StateReader carries the plugins' start-up drift and
 * docker-sync's counts into the snapshot. Real prom-client; the plugins are fakes of PluginInstance.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../common/log.js';
import type { PluginInstance } from '../common/plugin.js';
import type { SyncCounts } from '../docker-sync/sync.js';
import type { PoolView } from '../ipam/admin/admin-api.js';
import type { NetworkStatusView } from '../network-driver/admin-api.js';
import type { DetailedVolume } from '../volume-driver/status.js';
import { SuiteMetrics } from './metrics.js';
import { StateReader, type Snapshot } from './state.js';

const OV = 'ab'.repeat(32);
const BR = 'cd'.repeat(32);
const ep = (ID: string, Joined: boolean, PublishedPorts = 0) => ({ ID, Address: '', AddressIPv6: '', MAC: '', Joined, PublishedPorts });

const networks: NetworkStatusView[] = [
  { ID: BR, Mode: 'bridge', Options: {}, Subnets: ['10.1.0.0/24'], Endpoints: [ep('e1', true, 2), ep('e2', false)], Details: {} },
  {
    ID: OV,
    Mode: 'overlay',
    Options: {},
    Subnets: ['10.2.0.0/24'],
    Endpoints: [ep('e3', true)],
    Details: { peers: [{ host: 'h2', vtep: '192.0.2.2', endpoints: 2 }], fdb: [{ mac: 'a', vtep: 'x' }, { mac: 'b', vtep: 'x' }], neighbors: [{ ip: '10.2.0.7', mac: 'a' }] },
  },
];
const pool: PoolView = { ID: 'p1', Space: 'GlobalDefault', Subnet: '10.1.0.0/24', IPRange: '', Auto: false, Options: {}, Created: '', Size: '254', Used: '3', Free: '251', Cursor: '' };
const volume: DetailedVolume = { Name: 'v', Mountpoint: '/x', CreatedAt: '', Status: { Type: 'tmpfs', Backing: 'tmpfs', SizeLimitBytes: 1048576, UsedBytes: 4096, MountCount: 1, Options: {} } };
const sync: SyncCounts = { healed: { started: 2, failed: 1 }, released: { endpoint: 3, network: 1, mount: 0, address: 4, pool: 0, failed: 1 } };

const snapshot = (over: Partial<Snapshot> = {}): Snapshot => ({
  ready: { network: true, ipam: true, volume: undefined },
  startSeconds: { network: 0.5 },
  startDrift: { network: 4, volume: 0 },
  networks,
  pools: [pool],
  volumes: [volume],
  cluster: { hostId: 'h1', advertiseAddr: '192.0.2.1', etcdUp: true, liveLeaseAgeSeconds: 12 },
  sync,
  ...over,
});

/** The sample lines of `name` (its labels and value), from the exposition text. */
const samples = (text: string, name: string) => text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));

describe('metrics', () => {
  it('renders every count of a snapshot under its name, with bounded labels', async () => {
    const text = await new SuiteMetrics().render(snapshot());
    expect(samples(text, 'tsnet_networks')).toEqual(['tsnet_networks{mode="bridge"} 1', 'tsnet_networks{mode="overlay"} 1']);
    expect(samples(text, 'tsnet_endpoints')).toEqual(['tsnet_endpoints{mode="bridge",joined="true"} 1', 'tsnet_endpoints{mode="bridge",joined="false"} 1', 'tsnet_endpoints{mode="overlay",joined="true"} 1']);
    expect(samples(text, 'tsnet_published_ports')).toContain('tsnet_published_ports{mode="bridge"} 2');
    expect(samples(text, 'tsnet_ipam_pool_addresses')).toEqual([
      'tsnet_ipam_pool_addresses{space="GlobalDefault",subnet="10.1.0.0/24",range="",state="used"} 3',
      'tsnet_ipam_pool_addresses{space="GlobalDefault",subnet="10.1.0.0/24",range="",state="free"} 251',
    ]);
    expect(samples(text, 'tsnet_volume_limit_bytes')).toEqual(['tsnet_volume_limit_bytes{type="tmpfs"} 1048576']);
    expect(samples(text, 'tsnet_cluster_etcd_up')).toEqual(['tsnet_cluster_etcd_up{host="h1"} 1']);
    expect(samples(text, 'tsnet_cluster_live_lease_age_seconds')).toEqual(['tsnet_cluster_live_lease_age_seconds{host="h1"} 12']);
    expect(samples(text, 'tsnet_overlay_peers')).toEqual(['tsnet_overlay_peers{network="abababababab"} 1']);
    expect(samples(text, 'tsnet_overlay_fdb_entries')).toEqual(['tsnet_overlay_fdb_entries{network="abababababab"} 2']);
    expect(samples(text, 'tsnet_overlay_neighbor_entries')).toEqual(['tsnet_overlay_neighbor_entries{network="abababababab"} 1']);
    expect(samples(text, 'tsnet_start_reconcile_actions')).toEqual(['tsnet_start_reconcile_actions{plugin="network"} 4', 'tsnet_start_reconcile_actions{plugin="volume"} 0']);
    expect(samples(text, 'tsnet_heal_containers_total')).toEqual(['tsnet_heal_containers_total{outcome="started"} 2', 'tsnet_heal_containers_total{outcome="failed"} 1']);
    expect(samples(text, 'tsnet_agreement_releases_total')).toContain('tsnet_agreement_releases_total{object="endpoint"} 3');
    expect(samples(text, 'tsnet_agreement_releases_total')).toContain('tsnet_agreement_releases_total{object="failed"} 1');
    expect(text).toMatch(/# TYPE tsnet_heal_containers_total counter/);
  });

  it('drops label sets that are gone, and cluster and docker-sync series when they do not run', async () => {
    const m = new SuiteMetrics();
    await m.render(snapshot());
    const { cluster: _c, sync: _s, ...single } = snapshot({ networks: [networks[0]!] });
    const text = await m.render(single);
    expect(samples(text, 'tsnet_overlay_fdb_entries')).toEqual([]);
    expect(samples(text, 'tsnet_cluster_etcd_up')).toEqual([]);
    expect(samples(text, 'tsnet_heal_containers_total')).toEqual([]);
    expect(samples(text, 'tsnet_networks')).toEqual(['tsnet_networks{mode="bridge"} 1']);
  });

  it("takes each plugin's start-up drift and docker-sync's counts into the snapshot", async () => {
    const instance = (startDrift?: number): PluginInstance => ({ interfaces: [], ...(startDrift !== undefined && { startDrift }) });
    const reader = new StateReader({
      plugins: [
        { kind: 'network', instance: Promise.resolve(instance(3)) },
        { kind: 'ipam', instance: Promise.resolve(instance()) },
      ],
      cluster: Promise.resolve(undefined),
      log: createLogger({ stream: new PassThrough() }),
    });
    await new Promise((r) => setImmediate(r));
    expect((await reader.read()).startDrift).toEqual({ network: 3 });
    expect((await reader.read()).sync).toBeUndefined();
    reader.watchSync(() => sync);
    expect((await reader.read()).sync).toEqual(sync);
  });
});
