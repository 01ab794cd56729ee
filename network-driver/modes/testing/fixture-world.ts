/**
 * @module Fixtures the bridge-mode kernel tests and end-to-end scenarios share: test prefixes guarded by
 * unreachable routes, a "world" namespace behind the host, and a TCP server that tells clients the
 * address it saw them from (to make masquerade visible). Everything is removed when the test ends.
 * For tests only; needs root.
 */
import { connect, createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { onTestFinished } from 'vitest';
import { formatIp, parseCidr } from '../../../common/addr/parse.js';
import { run, start } from '../../../common/kernel/exec.js';
import { links } from '../../../common/kernel/links-api.js';
import { makeTestNetns } from '../../../testing/kernel/netns.js';
import { freeSubnets, installUnreachable } from '../../../testing/kernel/subnets.js';

/** Subnets for one test, inside an IPv4 /22 and an IPv6 /62 that are unreachable unless something more specific routes them. */
export interface TestPrefixes {
  /** The i-th /24 (i = 0…2; the last /24 of the /22 is kept for {@link TestPrefixes.world}). */
  v4(i: number): string;
  /** The i-th /64. */
  v6(i: number): string;
  /** Host `host` of the i-th /24 or /64, as a plain address. */
  ip4(i: number, host: number): string;
  ip6(i: number, host: number): string;
  /** A /30 for a world namespace. */
  world: string;
}

/**
 * Picks a free IPv4 /22 and IPv6 /62 from the suite's test ranges and installs unreachable routes for
 * them (removed when the test ends), so no test packet can leave through the host's default route.
 */
export async function testPrefixes(): Promise<TestPrefixes> {
  const [v4] = await freeSubnets(1, { family: 4, prefixLen: 22 });
  const [v6] = await freeSubnets(1, { family: 6, prefixLen: 62 });
  await installUnreachable(v4!);
  await installUnreachable(v6!);
  const b4 = parseCidr(v4!)!.addr;
  const b6 = parseCidr(v6!)!.addr;
  const ip4 = (i: number, host: number) => formatIp(4, b4 + BigInt(i) * 256n + BigInt(host));
  const ip6 = (i: number, host: number) => formatIp(6, b6 + (BigInt(i) << 64n) + BigInt(host));
  return { v4: (i) => `${ip4(i, 0)}/24`, v6: (i) => `${ip6(i, 0)}/64`, ip4, ip6, world: `${ip4(3, 0)}/30` };
}

/** A namespace behind the host: it reaches the host's side of a veth pair, and has no route to anything else. */
export interface World {
  ns: string;
  /** The host's address on the link to the world (what masquerade rewrites sources to). */
  hostSide: string;
  address: string;
}

/** Makes a world on `slash30` (from {@link TestPrefixes.world}), linked to this namespace or to `hostNetns`. */
export async function makeWorld(slash30: string, opts: { hostNetns?: string } = {}): Promise<World> {
  const ns = await makeTestNetns();
  const name = `tstw${randomBytes(4).toString('hex')}`;
  const where = opts.hostNetns === undefined ? {} : { netns: opts.hostNetns };
  const base = parseCidr(slash30)!.addr;
  const [hostSide, address] = [formatIp(4, base + 1n), formatIp(4, base + 2n)];
  await links.ensureVethPair(name, `${name}p`, where);
  onTestFinished(() => links.deleteLink(name, where));
  await links.moveToNetns(`${name}p`, ns, { ...where, newName: 'eth0' });
  await links.ensureAddress(name, `${hostSide}/30`, where);
  await links.ensureAddress('eth0', `${address}/30`, { netns: ns });
  await links.setUp('eth0', { netns: ns });
  return { ns, hostSide, address };
}

/** Starts a TCP server in `ns` that answers each connection with the client's address and closes; stopped when the test ends. */
export function peerEchoServer(ns: string, port: number): Promise<void> {
  const js = `require('net').createServer((s) => s.end(s.remoteAddress.replace(/^::ffff:/, '') + '\\n')).listen(${port}, () => console.log('up'))`;
  const child = start(['ip', 'netns', 'exec', ns, process.execPath, '-e', js], { stdout: 'pipe', stderr: 'inherit' });
  onTestFinished(() => void child.kill('SIGKILL'));
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    void child.done.then(({ code }) => reject(new Error(`echo server in ${ns} exited (${code})`)));
  });
}

/** What a TCP server at `host:port` says when `ns` connects (busybox nc), or '' when nothing answers within 2 s. */
export async function readFrom(ns: string, host: string, port: number): Promise<string> {
  try {
    return (await run(['ip', 'netns', 'exec', ns, 'busybox', 'nc', '-w', '2', host, String(port)], { object: `${host}:${port}`, step: 'read from' })).stdout.trim();
  } catch {
    return '';
  }
}

/** What a TCP server on this host's `address:port` says, or '' when nothing answers within 2 s. */
export function readLocal(address: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    const s = connect({ host: address, port, timeout: 2_000 });
    s.setEncoding('utf8').on('data', (d: string) => (data += d));
    s.on('end', () => resolve(data.trim()));
    s.on('timeout', () => s.destroy());
    s.on('error', () => resolve(''));
    s.on('close', () => resolve(data.trim()));
  });
}

/** A TCP port nothing on this host listens on now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
