/**
 * @module Checks that a host port is free before bridge mode publishes it. Publishing is pure DNAT (no
 * process per port), so nothing of ours holds the port; binding it for a moment tells whether a host
 * service or another engine's proxy (dockerd's `docker-proxy`) already listens there, which our DNAT
 * would silently steal from.
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import type { PortKey } from './port-table.js';

/** Where a port would be published: `hostIp` `''` means every address of the family. */
export type ProbeTarget = PortKey;

/** `no-address`: `hostIp` is not an address of this host. */
export type ProbeResult = 'free' | 'in-use' | 'no-address';

/** The probe as the mode sees it (injected, so unit tests decide what is "in use"). */
export type PortProbe = (t: ProbeTarget) => Promise<ProbeResult>;

function verdict(err: NodeJS.ErrnoException): ProbeResult {
  if (err.code === 'EADDRINUSE' || err.code === 'EACCES') return 'in-use';
  if (err.code === 'EADDRNOTAVAIL') return 'no-address';
  // No IPv6 stack on the host: nothing can listen there either.
  if (err.code === 'EAFNOSUPPORT') return 'free';
  throw err;
}

/**
 * Binds the port (TCP: listens; UDP: binds) on the address, IPv6 sockets IPv6-only, and closes it
 * again. SCTP cannot be probed from Node and counts as free.
 */
export const probePort: PortProbe = (t) => {
  const host = t.hostIp || (t.family === 4 ? '0.0.0.0' : '::');
  if (t.proto === 'sctp') return Promise.resolve('free');
  return new Promise<ProbeResult>((resolve, reject) => {
    const settle = (err?: NodeJS.ErrnoException) => {
      try {
        resolve(err ? verdict(err) : 'free');
      } catch (e) {
        reject(e as Error);
      }
    };
    if (t.proto === 'tcp') {
      const server = createServer();
      server.once('error', (err) => settle(err));
      server.listen({ host, port: t.hostPort, ipv6Only: t.family === 6, exclusive: true }, () => server.close(() => settle()));
      return;
    }
    const socket = createSocket({ type: t.family === 6 ? 'udp6' : 'udp4', ipv6Only: t.family === 6 });
    socket.once('error', (err) => {
      socket.close();
      settle(err);
    });
    socket.bind({ address: host, port: t.hostPort, exclusive: true }, () => socket.close(() => settle()));
  });
};
