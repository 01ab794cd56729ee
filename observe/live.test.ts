/**
 * @module Unit tests of the live topology stream over a real HTTP server (express) and a real client
 * (fetch reading the event stream): the topology on connect, a change after `changed()` and one found by
 * the tick alone, nothing sent again while it is unchanged, a failing read reported and survived, and
 * no read at all without a client.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { TopologyFeed } from './live.js';

let server: Server | undefined;
let feed: TopologyFeed | undefined;
const aborts: AbortController[] = [];

afterEach(async () => {
  for (const a of aborts.splice(0)) a.abort();
  feed?.close();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

/** Serves `feed` at /api/events on a free loopback port; resolves with the URL. */
async function serve(f: TopologyFeed): Promise<string> {
  const app = express();
  app.get('/api/events', (_req, res) => f.add(res));
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/events`;
}

/** Connects and collects every `topology` event's data, parsed. */
async function listen(url: string): Promise<Array<Record<string, unknown>>> {
  const abort = new AbortController();
  aborts.push(abort);
  const res = await fetch(url, { signal: abort.signal });
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const events: Array<Record<string, unknown>> = [];
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  void (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      buf += value;
      let at: number;
      while ((at = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, at);
        buf = buf.slice(at + 2);
        const data = /^event: topology\ndata: (.*)$/m.exec(block);
        if (data) events.push(JSON.parse(data[1]!) as Record<string, unknown>);
      }
    }
  })();
  return events;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('live topology stream', () => {
  it('sends the topology on connect, then each change once, whether a call or the tick finds it', async () => {
    let networks = ['a'];
    let reads = 0;
    feed = new TopologyFeed(async () => (reads++, { networks, time: new Date().toISOString() }), () => undefined, { debounceMs: 10, tickMs: 200 });
    const url = await serve(feed);
    await sleep(50);
    expect(reads).toBe(0); // nobody listens: nothing is read
    const events = await listen(url);
    await expect.poll(() => events.length).toBe(1);
    expect(events[0]!.networks).toEqual(['a']);

    networks = ['a', 'b'];
    feed.changed();
    await expect.poll(() => events.length).toBe(2);
    expect(events[1]!.networks).toEqual(['a', 'b']);

    feed.changed(); // no change (only the time differs): nothing sent
    await sleep(100);
    expect(events).toHaveLength(2);

    networks = ['b'];
    await expect.poll(() => events.length, { timeout: 2000 }).toBe(3); // the tick alone
    expect(events[2]!.networks).toEqual(['b']);
  });

  it('reports a failing read and goes on', async () => {
    let fail = true;
    const errors: string[] = [];
    feed = new TopologyFeed(async () => {
      if (fail) throw new Error('store busy');
      return { ok: true };
    }, (err) => errors.push(err.message), { debounceMs: 10, tickMs: 100 });
    const events = await listen(await serve(feed));
    await expect.poll(() => errors).toContain('store busy');
    fail = false;
    await expect.poll(() => events).toEqual([{ ok: true }]);
  });
});
