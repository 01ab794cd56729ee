/**
 * The host-port probe binds sockets on 127.0.0.1 only (no root, nothing leaves the host).
 */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { probePort } from './port-probe.js';

describe('probePort', () => {
  it('tells a port a process listens on from a free one, and an address that is not the host’s', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      expect(await probePort({ family: 4, proto: 'tcp', hostIp: '127.0.0.1', hostPort: port })).toBe('in-use');
      expect(await probePort({ family: 4, proto: 'udp', hostIp: '127.0.0.1', hostPort: port })).toBe('free');
      expect(await probePort({ family: 4, proto: 'sctp', hostIp: '127.0.0.1', hostPort: port })).toBe('free');
      expect(await probePort({ family: 4, proto: 'tcp', hostIp: '192.0.2.254', hostPort: port })).toBe('no-address');
    } finally {
      server.close();
    }
    expect(await probePort({ family: 4, proto: 'tcp', hostIp: '127.0.0.1', hostPort: port })).toBe('free');
  });
});
