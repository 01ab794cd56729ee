/**
 * @module The {@link EtcdClient} over etcd v3's JSON gateway (`/v3/kv/…`, `/v3/lease/…`, `/v3/watch`),
 * with node:http(s) and no client library, optionally over TLS and with etcd auth (etcd-http.ts). Every call tries the endpoints in turn (the last one that
 * answered first), each within the timeout, and fails with {@link EtcdUnavailableError} naming every
 * endpoint's failure. A call that timed out may still have been applied by etcd; callers of writes
 * that matter (allocations) use transactions that they can re-check.
 */
import { EtcdError, EtcdHttp } from './etcd-http.js';
import type { EtcdSecurity } from './etcd-security.js';
import { PrefixWatch } from './etcd-watch.js';
import { b64, decodeKv, decodeTxn, encodeCompare, encodeOp, int, keyRange, type WireResponse } from './etcd-wire.js';
import type { EtcdClient, KeyValue, Watch } from './types.js';

export { EtcdAuthError, EtcdError, EtcdTlsError, EtcdUnavailableError } from './etcd-http.js';

/** gRPC NOT_FOUND, which lease calls answer for a lease that expired or never was. */
const NOT_FOUND = 5;

export interface EtcdClientOptions {
  /** Per endpoint and call (for a watch: until the stream starts). Default 3000 ms. */
  timeoutMs?: number;
  /** TLS settings for `https://` endpoints, and etcd user/password auth (readEtcdSecurity). */
  security?: EtcdSecurity;
}

/**
 * A client for the etcd members at `endpoints` (`http://host:port` or `https://host:port`, see
 * parseClusterStore). Nothing is sent until the first call.
 */
export function createEtcdClient(endpoints: string[], opts: EtcdClientOptions = {}): EtcdClient {
  if (endpoints.length === 0) throw new Error('an etcd client needs at least one endpoint');
  const http = new EtcdHttp([...endpoints], opts.timeoutMs ?? 3000, opts.security);
  const watches = new Set<Watch>();
  const call = (path: string, body: unknown, what: string) => http.call<WireResponse>(path, body, what);

  return {
    endpoints: http.endpoints,

    async get(key: string): Promise<KeyValue | undefined> {
      const r = await call('/v3/kv/range', keyRange(key), `read "${key}"`);
      const kv = r.kvs?.[0];
      return kv && decodeKv(kv);
    },

    async range(prefix: string) {
      const r = await call('/v3/kv/range', keyRange(prefix, true), `read the keys under "${prefix}"`);
      return { kvs: (r.kvs ?? []).map(decodeKv), revision: int(r.header?.revision) };
    },

    async put(key, value, putOpts = {}) {
      const body = { key: b64(key), value: b64(value), ...(putOpts.lease ? { lease: putOpts.lease } : {}) };
      return int((await call('/v3/kv/put', body, `put "${key}"`)).header?.revision);
    },

    async delete(key, delOpts = {}) {
      return int((await call('/v3/kv/deleterange', keyRange(key, delOpts.prefix), `delete "${key}"${delOpts.prefix ? ' and the keys under it' : ''}`)).deleted);
    },

    async txn(compare, success, failure = []) {
      const body = { compare: compare.map(encodeCompare), success: success.map(encodeOp), failure: failure.map(encodeOp) };
      return decodeTxn(await call('/v3/kv/txn', body, `run a transaction${compare[0] ? ` on "${compare[0].key}"` : ''}`));
    },

    async grantLease(ttlSeconds) {
      const r = await call('/v3/lease/grant', { TTL: String(ttlSeconds), ID: '0' }, `grant a lease of ${ttlSeconds} s`);
      if (r.error) throw new EtcdError(`etcd refused to grant a lease of ${ttlSeconds} s: ${r.error}`, 2);
      return r.ID ?? '0';
    },

    async keepAlive(leaseId) {
      // An unknown lease is answered with the ID alone: TTL 0 (proto3 leaves out zeros).
      return int((await call('/v3/lease/keepalive', { ID: leaseId }, `renew lease ${leaseId}`)).TTL);
    },

    async revokeLease(leaseId) {
      try {
        await call('/v3/lease/revoke', { ID: leaseId }, `revoke lease ${leaseId}`);
      } catch (err) {
        if (!(err instanceof EtcdError && err.grpcCode === NOT_FOUND)) throw err;
      }
    },

    watchPrefix(prefix, fromRevision, handlers) {
      const w = new PrefixWatch(http, prefix, fromRevision, handlers);
      const watch = {
        close: () => {
          watches.delete(watch);
          w.close();
        },
      };
      watches.add(watch);
      return watch;
    },

    close() {
      for (const w of watches) w.close();
      http.close();
    },
  };
}
