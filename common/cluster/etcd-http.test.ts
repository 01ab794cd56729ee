/**
 * How the etcd client explains a connection dropped during its TLS handshake (what a plain-HTTP etcd
 * does to `etcds://`), against throwaway TCP servers on loopback that close or reset the connection
 * once the client's hello arrives, and a port where nothing listens.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createEtcdClient } from './etcd-client.js';
import { EtcdUnavailableError } from './etcd-http.js';
import type { EtcdClient } from './types.js';

const open: Array<Server | EtcdClient> = [];
afterEach(() => {
  for (const o of open.splice(0)) o.close();
});

async function tcpServer(onHello: (s: Socket) => void): Promise<number> {
  const srv = createServer((s) => s.once('data', () => onHello(s)));
  open.push(srv);
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return (srv.address() as { port: number }).port;
}

async function getFrom(port: number): Promise<Error> {
  const c = createEtcdClient([`https://127.0.0.1:${port}`], { timeoutMs: 2000 });
  open.push(c);
  return c.get('/x').then(
    () => new Error('answered'),
    (e: unknown) => e as Error,
  );
}

describe('a TLS handshake that the server drops', () => {
  it.each([
    ['closes', (s: Socket) => s.end()],
    ['resets', (s: Socket) => s.resetAndDestroy()],
  ])('hints at etcd:// when the server %s the connection at the hello', async (_, drop) => {
    const err = await getFrom(await tcpServer(drop));
    expect(err).toBeInstanceOf(EtcdUnavailableError);
    expect(err.message).toMatch(/does not serve TLS, write etcd:\/\/ instead of etcds:\/\//);
  });

  it('gives no such hint when nothing listens', async () => {
    const port = await tcpServer(() => undefined);
    (open.pop() as Server).close();
    const err = await getFrom(port);
    expect(err).toBeInstanceOf(EtcdUnavailableError);
    expect(err.message).toMatch(/ECONNREFUSED/);
    expect(err.message).not.toMatch(/does not serve TLS/);
  });
});
