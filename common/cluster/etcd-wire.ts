/**
 * @module etcd v3's JSON gateway format, both ways, with no I/O: keys and values are base64, int64s
 * are JSON strings, enums are upper-case names, and proto3 leaves out every field at its default (a
 * missing `value` is empty, a missing `type` of an event is PUT, a missing `TTL` is 0). Field names
 * are those of etcd's `rpc.proto`/`kv.proto` as the gateway prints them (snake_case).
 */
import type { Compare, KeyValue, Op, TxnResult, WatchEvent } from './types.js';

/** A KeyValue as the gateway prints it. */
export interface WireKv {
  key?: string;
  value?: string;
  create_revision?: string;
  mod_revision?: string;
  version?: string;
  lease?: string;
}

export interface WireHeader {
  revision?: string;
}

/** The part of every response the client reads. */
export interface WireResponse {
  header?: WireHeader;
  kvs?: WireKv[];
  deleted?: string;
  succeeded?: boolean;
  responses?: Array<{ response_range?: { kvs?: WireKv[] }; response_put?: unknown; response_delete_range?: unknown }>;
  ID?: string;
  TTL?: string;
  /** LeaseGrant reports some failures here rather than as a gRPC status. */
  error?: string;
}

/** One message of the watch stream's `result`. */
export interface WireWatchResult {
  header?: WireHeader;
  created?: boolean;
  canceled?: boolean;
  compact_revision?: string;
  cancel_reason?: string;
  events?: Array<{ type?: 'PUT' | 'DELETE'; kv?: WireKv }>;
}

/** An int64 as the gateway prints it (a string, absent when 0). */
export const int = (s: string | number | undefined): number => Number(s ?? 0);

/** A string's UTF-8 bytes in base64. */
export const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');

const unb64 = (s: string | undefined): string => Buffer.from(s ?? '', 'base64').toString('utf8');

/**
 * The `range_end` that makes a range cover every key starting with `prefix`: the prefix with its last
 * byte incremented (UTF-8 has no 0xff byte, so there is no carry), or `\0` (every key) for `''`.
 */
export function prefixEnd(prefix: string): Buffer {
  const bytes = Buffer.from(prefix);
  if (bytes.length === 0) return Buffer.from([0]);
  bytes[bytes.length - 1]! += 1;
  return bytes;
}

/** `key` and, for a prefix, `range_end`, as a range-like request wants them. */
export function keyRange(key: string, prefix?: boolean): { key: string; range_end?: string } {
  return prefix ? { key: b64(key), range_end: b64(prefixEnd(key)) } : { key: b64(key) };
}

export function decodeKv(w: WireKv): KeyValue {
  return {
    key: unb64(w.key),
    value: unb64(w.value),
    createRevision: int(w.create_revision),
    modRevision: int(w.mod_revision),
    version: int(w.version),
    lease: w.lease ?? '0',
  };
}

export function encodeCompare(c: Compare): Record<string, unknown> {
  const base = { ...keyRange(c.key, c.prefix), result: c.result.toUpperCase() };
  switch (c.target) {
    case 'create':
      return { ...base, target: 'CREATE', create_revision: String(c.createRevision) };
    case 'mod':
      return { ...base, target: 'MOD', mod_revision: String(c.modRevision) };
    case 'version':
      return { ...base, target: 'VERSION', version: String(c.version) };
    case 'value':
      return { ...base, target: 'VALUE', value: b64(c.value) };
  }
}

export function encodeOp(op: Op): Record<string, unknown> {
  if ('put' in op) {
    const { key, value, lease } = op.put;
    return { request_put: { key: b64(key), value: b64(value), ...(lease ? { lease } : {}) } };
  }
  if ('deleteRange' in op) return { request_delete_range: keyRange(op.deleteRange.key, op.deleteRange.prefix) };
  return { request_range: keyRange(op.range.key, op.range.prefix) };
}

export function decodeTxn(r: WireResponse): TxnResult {
  return {
    succeeded: r.succeeded === true,
    revision: int(r.header?.revision),
    responses: (r.responses ?? []).map((res) => (res.response_range ? { kvs: (res.response_range.kvs ?? []).map(decodeKv) } : {})),
  };
}

export function decodeEvents(r: WireWatchResult): WatchEvent[] {
  return (r.events ?? []).map((e) => ({ type: e.type === 'DELETE' ? 'delete' : 'put', kv: decodeKv(e.kv ?? {}) }));
}
