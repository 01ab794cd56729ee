import { existsSync } from 'node:fs';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { run } from '../kernel/exec.js';
import { links } from '../kernel/links-api.js';
import { freePort, startTestEtcd, useTestEtcd } from '../../testing/cluster/etcd.js';
import { makeTestNetns } from '../../testing/kernel/netns.js';
import { createEtcdClient, EtcdError, EtcdUnavailableError } from './etcd-client.js';
import type { EtcdClient, WatchEvent } from './types.js';

const ctx = useTestEtcd();

describe('keys', () => {
  it('puts, gets, ranges a prefix and deletes', async () => {
    const rev = await ctx.client.put('/t/kv/a', 'one');
    expect(rev).toBeGreaterThan(0);
    await ctx.client.put('/t/kv/b', 'twö ✓');
    await ctx.client.put('/t/kvz', 'outside the prefix');
    const a = await ctx.client.get('/t/kv/a');
    expect(a).toMatchObject({ key: '/t/kv/a', value: 'one', createRevision: rev, modRevision: rev, version: 1, lease: '0' });
    expect(await ctx.client.get('/t/kv/none')).toBeUndefined();
    const { kvs, revision } = await ctx.client.range('/t/kv/');
    expect(kvs.map((kv) => [kv.key, kv.value])).toEqual([
      ['/t/kv/a', 'one'],
      ['/t/kv/b', 'twö ✓'],
    ]);
    expect(revision).toBeGreaterThan(rev);
    expect(await ctx.client.delete('/t/kv/a')).toBe(1);
    expect(await ctx.client.delete('/t/kv/a')).toBe(0);
    expect(await ctx.client.delete('/t/kv/', { prefix: true })).toBe(1);
    expect((await ctx.client.get('/t/kvz'))?.value).toBe('outside the prefix');
  });

  it('lets exactly one of two racing clients create a key (compare create revision 0)', async () => {
    const other = createEtcdClient(ctx.etcd.endpoints);
    try {
      const claim = (c: EtcdClient, who: string) =>
        c.txn([{ key: '/t/claim', target: 'create', result: 'equal', createRevision: 0 }], [{ put: { key: '/t/claim', value: who } }], [{ range: { key: '/t/claim' } }]);
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => claim(i % 2 ? other : ctx.client, `c${i}`)));
      const winners = results.filter((r) => r.succeeded);
      expect(winners).toHaveLength(1);
      const owner = (await ctx.client.get('/t/claim'))?.value;
      for (const r of results.filter((x) => !x.succeeded)) expect(r.responses[0]?.kvs?.[0]?.value).toBe(owner);
    } finally {
      other.close();
    }
  });

  it('compares mod revision, value and prefixes in transactions', async () => {
    const rev = await ctx.client.put('/t/txn/x', 'v1');
    const stale = await ctx.client.txn([{ key: '/t/txn/x', target: 'mod', result: 'equal', modRevision: rev - 1 }], [{ put: { key: '/t/txn/x', value: 'no' } }]);
    expect(stale.succeeded).toBe(false);
    const ok = await ctx.client.txn(
      [{ key: '/t/txn/x', target: 'value', result: 'equal', value: 'v1' }],
      [{ deleteRange: { key: '/t/txn/x' } }, { put: { key: '/t/txn/y', value: 'v2' } }, { range: { key: '/t/txn/', prefix: true } }],
    );
    expect(ok.succeeded).toBe(true);
    expect(ok.responses[2]?.kvs?.map((kv) => kv.key)).toEqual(['/t/txn/y']);
    const none = await ctx.client.txn([{ key: '/t/txn/', prefix: true, target: 'version', result: 'greater', version: 5 }], [], [{ range: { key: '/t/txn/nothing' } }]);
    expect(none).toMatchObject({ succeeded: false, responses: [{ kvs: [] }] });
  });
});

describe('leases', () => {
  it('deletes a lease’s keys when it expires; keepAlive of a dead lease is 0', async () => {
    const lease = await ctx.client.grantLease(1);
    await ctx.client.put('/t/lease/k', 'v', { lease });
    expect((await ctx.client.get('/t/lease/k'))?.lease).toBe(lease);
    expect(await ctx.client.keepAlive(lease)).toBe(1);
    const end = Date.now() + 5000;
    while ((await ctx.client.get('/t/lease/k')) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    expect(await ctx.client.get('/t/lease/k')).toBeUndefined();
    expect(await ctx.client.keepAlive(lease)).toBe(0);
  });

  it('revokes (an unknown lease is fine) and refuses a put on a dead lease clearly', async () => {
    const lease = await ctx.client.grantLease(60);
    await ctx.client.put('/t/lease/r', 'v', { lease });
    await ctx.client.revokeLease(lease);
    expect(await ctx.client.get('/t/lease/r')).toBeUndefined();
    await ctx.client.revokeLease(lease);
    const err = await ctx.client.put('/t/lease/r', 'v', { lease }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EtcdError);
    expect((err as Error).message).toMatch(/put "\/t\/lease\/r": etcdserver: requested lease not found/);
  });
});

describe('watch', () => {
  it('sees puts and deletes under the prefix, in order, from the given revision', async () => {
    const start = await ctx.client.put('/t/w1/a', '1');
    await ctx.client.put('/t/w1other', 'not mine');
    await ctx.client.put('/t/w1/b', '2');
    const seen: WatchEvent[] = [];
    const revs: number[] = [];
    const w = ctx.client.watchPrefix('/t/w1/', start, { onEvents: (evs, rev) => (seen.push(...evs), revs.push(rev)), onReset: () => expect.fail('reset') });
    try {
      await ctx.client.delete('/t/w1/a');
      await ctx.client.put('/t/w1/b', '3');
      await vi.waitFor(() => expect(seen).toHaveLength(4));
      expect(seen.map((e) => [e.type, e.kv.key, e.kv.value])).toEqual([
        ['put', '/t/w1/a', '1'],
        ['put', '/t/w1/b', '2'],
        ['delete', '/t/w1/a', ''],
        ['put', '/t/w1/b', '3'],
      ]);
      expect(revs.at(-1)).toBe(seen.at(-1)?.kv.modRevision);
    } finally {
      w.close();
    }
  });

  it('resumes after etcd is killed and started again, missing nothing', async () => {
    const w = await watchValues('/t/w2/');
    await ctx.client.put('/t/w2/k', 'before');
    await vi.waitFor(() => expect(w.values).toHaveLength(1));
    await ctx.etcd.kill9();
    await vi.waitFor(() => expect(w.connection).toHaveLength(1));
    await ctx.etcd.start();
    // Written before the watch is back: it must still see them, in order, once.
    await ctx.client.put('/t/w2/k', 'after-1');
    await ctx.client.put('/t/w2/k', 'after-2');
    await vi.waitFor(() => expect(w.values).toHaveLength(3));
    expect(w.values).toEqual(['before', 'after-1', 'after-2']);
    await vi.waitFor(() => expect(w.connection).toHaveLength(2));
    expect(w.connection).toEqual([false, true]);
    expect(w.resets).toBe(0);
  });

  it('notices a frozen etcd and comes back within about two seconds of it answering again', async () => {
    const w = await watchValues('/t/w3/');
    onTestFinished(() => ctx.etcd.resume());
    ctx.etcd.pause();
    await vi.waitFor(() => expect(w.connection).toHaveLength(1), { timeout: 4000 });
    ctx.etcd.resume();
    await ctx.client.put('/t/w3/k', 'x');
    const t0 = Date.now();
    await vi.waitFor(() => expect(w.values).toHaveLength(1), { timeout: 4000 });
    expect(Date.now() - t0).toBeLessThan(2500);
    expect(w.connection).toEqual([false, true]);
  });

  it('calls onReset when its resume revision was compacted, then goes on from the current revision', async () => {
    const first = await ctx.client.put('/t/w4/k', 'old-1');
    await ctx.client.put('/t/w4/k', 'old-2');
    await compact(await ctx.client.put('/t/w4/k', 'old-3'));
    const w = await watchValues('/t/w4/', first);
    await vi.waitFor(() => expect(w.resets).toBe(1));
    await ctx.client.put('/t/w4/k', 'new');
    await vi.waitFor(() => expect(w.values).not.toHaveLength(0));
    expect(w.values).toEqual(['new']);
  });
});

/** Watches `prefix` (from `from`, default: the next revision) until the test ends, recording what it reports. */
async function watchValues(prefix: string, from?: number) {
  const seen = { values: [] as string[], connection: [] as boolean[], resets: 0 };
  const w = ctx.client.watchPrefix(prefix, from ?? (await ctx.client.range(prefix)).revision + 1, {
    onEvents: (evs) => seen.values.push(...evs.map((e) => e.kv.value)),
    onReset: () => seen.resets++,
    onConnection: (up) => seen.connection.push(up),
  });
  onTestFinished(() => w.close());
  return seen;
}

/** Compacts the store up to `revision` through the gateway (the client does not offer it). */
async function compact(revision: number): Promise<void> {
  const res = await fetch(`${ctx.etcd.endpoints[0]}/v3/kv/compaction`, { method: 'POST', body: JSON.stringify({ revision: String(revision), physical: true }) });
  expect(res.ok).toBe(true);
}

describe('unavailable', () => {
  it('fails with EtcdUnavailableError naming each endpoint when nothing listens', async () => {
    const dead = [`http://127.0.0.1:${await freePort('127.0.0.1')}`, `http://127.0.0.1:${await freePort('127.0.0.1')}`];
    const c = createEtcdClient(dead, { timeoutMs: 500 });
    try {
      const t0 = Date.now();
      const err = await c.get('/t/x').catch((e: unknown) => e);
      expect(Date.now() - t0).toBeLessThan(1500);
      expect(err).toBeInstanceOf(EtcdUnavailableError);
      expect((err as Error).message).toMatch(/^etcd is unreachable \(http:\/\/127\.0\.0\.1:\d+: connect ECONNREFUSED [^;]+; http:\/\/127\.0\.0\.1:\d+: connect ECONNREFUSED .*\); could not read "\/t\/x"$/);
    } finally {
      c.close();
    }
  });

  it('times out on an endpoint that accepts but never answers', async () => {
    ctx.etcd.pause();
    const c = createEtcdClient(ctx.etcd.endpoints, { timeoutMs: 300 });
    try {
      const err = await c.put('/t/x', 'v').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EtcdUnavailableError);
      expect((err as Error).message).toMatch(/no answer within 300 ms/);
    } finally {
      ctx.etcd.resume();
      c.close();
    }
  });
});

describe('startTestEtcd in a namespace', () => {
  it('serves on the namespace’s address, and again after kill -9 and start', async () => {
    const netns = await makeTestNetns();
    await links.setUp('lo', { netns });
    const inNs = await startTestEtcd({ netns, listenIp: '127.0.0.1' });
    onTestFinished(() => inNs.stop());
    expect(inNs.url).toMatch(/^etcd:\/\/127\.0\.0\.1:\d+$/);
    const health = () =>
      run(['ip', 'netns', 'exec', netns, process.execPath, '-e', `fetch('${inNs.endpoints[0]}/health').then((r) => r.text()).then(console.log)`], { object: 'etcd in netns', step: 'health' });
    expect((await health()).stdout).toContain('"health":"true"');
    await inNs.kill9();
    await inNs.start();
    expect((await health()).stdout).toContain('"health":"true"');
    await inNs.stop();
    expect(existsSync(inNs.dataDir)).toBe(false);
  });
});
