/**
 * @module The Prometheus metrics of `tsnet serve --metrics-addr` (prom-client, own registry). The call
 * histogram is fed by the plugin servers as each call is answered; every other metric is a gauge set
 * from one {@link Snapshot} read at scrape time, so it is never stale and costs nothing between scrapes.
 * Labels stay bounded: plugin, method, outcome, mode, pool, volume type, overlay network, object kind —
 * never a container or an endpoint. Counters kept elsewhere (docker-sync's) are set from the snapshot too.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CallRecord } from '../common/protocol/server.js';
import { pluginOfInterface, type Snapshot } from './state.js';

/** Latency buckets in seconds: plugin calls take from ~0.1 ms (a lookup) to seconds (an ext4 image). */
const CALL_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class SuiteMetrics {
  readonly registry = new Registry();
  readonly #calls: Histogram<'plugin' | 'method' | 'outcome'>;
  readonly #gauges: Array<Gauge<string> | Counter<string>> = [];
  readonly #up;
  readonly #startSeconds;
  readonly #networks;
  readonly #endpoints;
  readonly #ports;
  readonly #pools;
  readonly #addresses;
  readonly #volumes;
  readonly #volumeUsed;
  readonly #volumeLimit;
  readonly #etcdUp;
  readonly #leaseAge;
  readonly #peers;
  readonly #fdb;
  readonly #neighbors;
  readonly #startDrift;
  readonly #healed;
  readonly #released;

  constructor() {
    this.#calls = new Histogram({
      name: 'tsnet_plugin_call_duration_seconds',
      help: 'Time to answer a plugin call, by plugin, method (Interface.Method) and outcome (ok; expected: a routine not-found such as VolumeDriver.Get before a create; refused; error).',
      labelNames: ['plugin', 'method', 'outcome'],
      buckets: CALL_BUCKETS,
      registers: [this.registry],
    });
    const gauge = <L extends string>(name: string, help: string, labelNames: L[] = []) => {
      const g = new Gauge<L>({ name, help, labelNames, registers: [this.registry] });
      this.#gauges.push(g as Gauge<string>);
      return g;
    };
    this.#up = gauge('tsnet_plugin_up', 'Whether the plugin has reconciled and serves calls (1) or not yet (0).', ['plugin']);
    this.#startSeconds = gauge('tsnet_plugin_start_seconds', 'Seconds the plugin took at start to reconcile the host with its store.', ['plugin']);
    this.#networks = gauge('tsnet_networks', 'tsnet networks, by mode.', ['mode']);
    this.#endpoints = gauge('tsnet_endpoints', 'tsnet endpoints, by network mode and whether joined to a container.', ['mode', 'joined']);
    this.#ports = gauge('tsnet_published_ports', 'Ports published to the host, by network mode.', ['mode']);
    this.#pools = gauge('tsnet_ipam_pools', 'tsipam address pools, by address space.', ['space']);
    this.#addresses = gauge('tsnet_ipam_pool_addresses', 'Addresses of a tsipam pool, by state: used (held) or free (can still be handed out).', ['space', 'subnet', 'range', 'state']);
    this.#volumes = gauge('tsnet_volumes', 'tsvol volumes, by type.', ['type']);
    this.#volumeUsed = gauge('tsnet_volume_used_bytes', 'Bytes used by tsvol volumes, summed by type.', ['type']);
    this.#volumeLimit = gauge('tsnet_volume_limit_bytes', 'Size limits of the size-limited tsvol volumes, summed by type.', ['type']);
    this.#etcdUp = gauge('tsnet_cluster_etcd_up', 'Multi-host: whether etcd answered a read at scrape time (absent on a single host); host is this host\'s cluster ID.', ['host']);
    this.#leaseAge = gauge('tsnet_cluster_live_lease_age_seconds', 'Multi-host: seconds since this host got (or took over at start) its current live lease.', ['host']);
    this.#peers = gauge('tsnet_overlay_peers', 'Overlay: other hosts with endpoints on the network.', ['network']);
    this.#fdb = gauge('tsnet_overlay_fdb_entries', 'Overlay: forwarding entries the VXLAN device really has.', ['network']);
    this.#neighbors = gauge('tsnet_overlay_neighbor_entries', 'Overlay: neighbour (ARP/ND) entries the VXLAN device really has.', ['network']);
    this.#startDrift = gauge('tsnet_start_reconcile_actions', "Differences between the records and the host that the plugin's start-up reconcile found and repaired (tsnet doctor's fixable findings just before it ran).", ['plugin']);
    // Counters kept by docker-sync since start; set from its counts at scrape time.
    const counter = <L extends string>(name: string, help: string, labelNames: L[]) => {
      const c = new Counter<L>({ name, help, labelNames, registers: [this.registry] });
      this.#gauges.push(c as Counter<string>);
      return c;
    };
    this.#healed = counter('tsnet_heal_containers_total', 'Containers healing started because they had failed for lack of a tsnet plugin, by outcome (started, failed).', ['outcome']);
    this.#released = counter('tsnet_agreement_releases_total', "Objects agreement with Docker released because the reference no longer has them, by object (endpoint, network, mount, address, pool), and releases that failed (object=\"failed\").", ['object']);
  }

  /** Counts one answered call. A method nobody serves (404) counts as `unknown`, so labels stay bounded. */
  observeCall(call: CallRecord): void {
    const plugin = pluginOfInterface(call.call.split('.')[0] ?? '');
    const method = plugin && call.status !== 404 ? call.call : 'unknown';
    this.#calls.observe({ plugin: plugin ?? 'unknown', method, outcome: call.outcome }, call.seconds);
  }

  /** Sets every gauge from `s` (dropping label sets that are gone) and renders the exposition text. */
  async render(s: Snapshot): Promise<string> {
    for (const g of this.#gauges) g.reset();
    for (const [plugin, ready] of Object.entries(s.ready)) if (ready !== undefined) this.#up.set({ plugin }, ready ? 1 : 0);
    for (const [plugin, secs] of Object.entries(s.startSeconds)) this.#startSeconds.set({ plugin }, secs);
    for (const n of s.networks ?? []) {
      this.#networks.inc({ mode: n.Mode });
      for (const e of n.Endpoints) {
        this.#endpoints.inc({ mode: n.Mode, joined: String(e.Joined) });
        this.#ports.inc({ mode: n.Mode }, e.PublishedPorts);
      }
      if (n.Mode === 'overlay') {
        const d = n.Details as { peers?: unknown[]; fdb?: unknown[]; neighbors?: unknown[] };
        const network = n.ID.slice(0, 12);
        this.#peers.set({ network }, d.peers?.length ?? 0);
        this.#fdb.set({ network }, d.fdb?.length ?? 0);
        this.#neighbors.set({ network }, d.neighbors?.length ?? 0);
      }
    }
    for (const p of s.pools ?? []) {
      this.#pools.inc({ space: p.Space });
      const labels = { space: p.Space, subnet: p.Subnet, range: p.IPRange };
      this.#addresses.set({ ...labels, state: 'used' }, Number(p.Used));
      this.#addresses.set({ ...labels, state: 'free' }, Number(p.Free));
    }
    for (const v of s.volumes ?? []) {
      const type = v.Status.Type;
      this.#volumes.inc({ type });
      this.#volumeUsed.inc({ type }, v.Status.UsedBytes ?? 0);
      if (v.Status.SizeLimitBytes !== undefined) this.#volumeLimit.inc({ type }, v.Status.SizeLimitBytes);
    }
    for (const [plugin, n] of Object.entries(s.startDrift)) this.#startDrift.set({ plugin }, n);
    if (s.sync) {
      for (const [outcome, n] of Object.entries(s.sync.healed)) this.#healed.inc({ outcome }, n);
      for (const [object, n] of Object.entries(s.sync.released)) this.#released.inc({ object }, n);
    }
    if (s.cluster) {
      const host = { host: s.cluster.hostId };
      this.#etcdUp.set(host, s.cluster.etcdUp ? 1 : 0);
      this.#leaseAge.set(host, s.cluster.liveLeaseAgeSeconds);
    }
    return this.registry.metrics();
  }
}
