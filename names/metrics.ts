/**
 * @module The name service's Prometheus metrics, registered in the registry `tsnet serve
 * --metrics-addr` serves (or a private one): queries by outcome, answer time by where the answer came
 * from, and how many names are known. Labels are bounded: never a name or an address.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What became of a query. */
export type QueryOutcome = 'local' | 'forwarded' | 'forward_failed' | 'rate_limited' | 'malformed';

const BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export class DnsMetrics {
  readonly #queries: Counter<'outcome'>;
  readonly #seconds: Histogram<'source'>;

  constructor(registry: Registry, counts: () => { local: number; remote: number }) {
    this.#queries = new Counter({
      name: 'tsnet_dns_queries_total',
      help: 'DNS queries to the name service, by outcome: local (answered from container names), forwarded, forward_failed (SERVFAIL), rate_limited (dropped), malformed (dropped).',
      labelNames: ['outcome'],
      registers: [registry],
    });
    this.#seconds = new Histogram({
      name: 'tsnet_dns_answer_duration_seconds',
      help: 'Time from a query to its answer, by where the answer came from (local or upstream).',
      labelNames: ['source'],
      buckets: BUCKETS,
      registers: [registry],
    });
    new Gauge({
      name: 'tsnet_dns_names',
      help: 'Endpoints with names the name service knows, by origin: local (this host) or remote (other hosts, overlays).',
      labelNames: ['origin'],
      registers: [registry],
      collect() {
        const c = counts();
        this.set({ origin: 'local' }, c.local);
        this.set({ origin: 'remote' }, c.remote);
      },
    });
  }

  query(outcome: QueryOutcome): void {
    this.#queries.inc({ outcome });
  }

  answered(source: 'local' | 'upstream', seconds: number): void {
    this.#seconds.observe({ source }, seconds);
  }
}
