import { describe, expect, it } from 'vitest';
import { ClusterView, sharedAlike } from './cluster-view.js';
import type { AddressKind, AddressRecord } from '../core/persistence.js';

const rec = (address: string, kind: AddressKind, host: string): AddressRecord => ({ v: 1, poolId: 'p', address, kind, host, at: 't' });

describe('ClusterView', () => {
  it('keeps its own endpoint addresses and every shared one, and forgets them on reset', () => {
    const v = new ClusterView('me');
    expect(v.synced).toBe(false);
    v.reset([rec('10.0.0.1', 'gateway', 'other'), rec('10.0.0.2', 'aux', 'me'), rec('10.0.0.3', 'endpoint', 'me'), rec('10.0.0.4', 'endpoint', 'other')]);
    expect(v.synced).toBe(true);
    expect([...v.mine]).toEqual(['10.0.0.3']);
    expect([...v.shared.keys()]).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(v.gateway()?.address).toBe('10.0.0.1');
    v.note(rec('10.0.0.5', 'endpoint', 'me'));
    v.reset([]);
    expect(v.mine.size + v.shared.size).toBe(0);
    expect(v.gateway()).toBeUndefined();
  });

  it('waits for claims in flight, failed ones included', async () => {
    const v = new ClusterView('me');
    let done = false;
    v.track(new Promise((resolve) => setTimeout(() => resolve((done = true)), 20)));
    v.track(Promise.reject(new Error('etcd away')));
    await v.settled();
    expect(done).toBe(true);
    await new Promise((r) => setImmediate(r));
    expect(v.inflight.size).toBe(0);
  });

  it('treats only the same shared kind as already held for a request', () => {
    expect(sharedAlike(rec('a', 'gateway', 'x'), rec('a', 'gateway', 'y'))).toBe(true);
    expect(sharedAlike(rec('a', 'aux', 'x'), rec('a', 'gateway', 'y'))).toBe(false);
    expect(sharedAlike(rec('a', 'endpoint', 'x'), rec('a', 'endpoint', 'y'))).toBe(false);
  });
});
