import { describe, expect, it } from 'vitest';
import { decodeEvents, decodeKv, encodeCompare, encodeOp, prefixEnd } from './etcd-wire.js';

describe('prefixEnd', () => {
  it('increments the last byte', () => {
    expect(prefixEnd('/a/').toString()).toBe('/a0');
    expect(prefixEnd('a')).toEqual(Buffer.from('b'));
  });

  it('works on the UTF-8 bytes', () => {
    expect(prefixEnd('/é')).toEqual(Buffer.from([0x2f, 0xc3, 0xaa]));
  });

  it('is \\0 (every key) for an empty prefix', () => {
    expect(prefixEnd('')).toEqual(Buffer.from([0]));
  });
});

describe('wire decoding', () => {
  it('fills proto3 defaults', () => {
    expect(decodeKv({ key: Buffer.from('/k').toString('base64') })).toEqual({ key: '/k', value: '', createRevision: 0, modRevision: 0, version: 0, lease: '0' });
    const events = decodeEvents({ events: [{ kv: { key: 'YQ==', value: 'Yg==', mod_revision: '7' } }, { type: 'DELETE', kv: { key: 'YQ==', mod_revision: '8' } }] });
    expect(events.map((e) => [e.type, e.kv.key, e.kv.value, e.kv.modRevision])).toEqual([
      ['put', 'a', 'b', 7],
      ['delete', 'a', '', 8],
    ]);
  });

  it('encodes comparisons and operations with etcd field names', () => {
    expect(encodeCompare({ key: '/p/', prefix: true, target: 'create', result: 'not_equal', createRevision: 0 })).toEqual({ key: 'L3Av', range_end: 'L3Aw', result: 'NOT_EQUAL', target: 'CREATE', create_revision: '0' });
    expect(encodeCompare({ key: 'a', target: 'value', result: 'equal', value: 'b' })).toEqual({ key: 'YQ==', result: 'EQUAL', target: 'VALUE', value: 'Yg==' });
    expect(encodeOp({ put: { key: 'a', value: 'b', lease: '42' } })).toEqual({ request_put: { key: 'YQ==', value: 'Yg==', lease: '42' } });
    expect(encodeOp({ deleteRange: { key: 'a', prefix: true } })).toEqual({ request_delete_range: { key: 'YQ==', range_end: 'Yg==' } });
  });
});
