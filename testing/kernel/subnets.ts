/**
 * @module Subnets for tests that no route on the host already uses, taken from ranges reserved for the
 * suite (IPv4 10.200.0.0/13, IPv6 fd54:7473:6e65::/48, "tsne" in hex), starting at a random offset so that
 * test files running in parallel rarely pick the same one. Also unreachable routes for tests that expect
 * no reachability. The choosing is pure ({@link pickFreeSubnets}); only the route reading does I/O.
 * Vitest is loaded only by {@link installUnreachable}, so the leak check can use the rest outside a test run.
 */
import { randomBytes } from 'node:crypto';
import { ADDRESS_BITS, parseCidrOrHost, type Cidr, type Family } from '../../common/addr/parse.js';
import { blockSize, formatPrefix, overlaps, parsePrefix, prefixOf, prefixOfCidr, prefixSize, type Prefix } from '../../common/addr/prefix.js';
import { CommandError, run } from '../../common/kernel/exec.js';

/** Range the IPv4 test subnets come from. */
export const TEST_RANGE_V4 = '10.200.0.0/13';
/** Range the IPv6 test subnets come from. */
export const TEST_RANGE_V6 = 'fd54:7473:6e65::/48';

/** Options of {@link freeSubnets} and {@link pickFreeSubnets}. */
export interface SubnetRequest {
  family: Family;
  prefixLen: number;
}

/** Parses a route destination as `ip -j route` prints it: `10.0.0.0/8`, a bare host `10.0.0.1`, or `default` (undefined). */
export function parseRouteDst(dst: string): Cidr | undefined {
  return parseCidrOrHost(dst);
}

/** Whether two prefixes of the same family share at least one address (host bits are ignored). */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return overlaps(prefixOfCidr(a), prefixOfCidr(b));
}

/**
 * Picks `count` distinct `prefixLen` subnets of `range` (default: the family's test range) that overlap
 * none of `taken` (route destinations; unparsable entries and `default` are ignored). Candidates are tried
 * in order from slot `start` (wrapping around). Throws RangeError for a prefix length outside the range,
 * and Error when fewer than `count` are free.
 */
export function pickFreeSubnets(
  taken: readonly string[],
  count: number,
  { family, prefixLen, range, start = 0n }: SubnetRequest & { range?: string; start?: bigint },
): string[] {
  const r = parsePrefix(range ?? (family === 4 ? TEST_RANGE_V4 : TEST_RANGE_V6));
  const width = ADDRESS_BITS[family];
  if (!r || r.family !== family) throw new RangeError(`range ${range} is not an IPv${family} prefix`);
  if (!Number.isInteger(prefixLen) || prefixLen < r.len || prefixLen > width) {
    throw new RangeError(`prefixLen ${prefixLen} must be between ${r.len} and ${width} for range ${formatPrefix(r)}`);
  }
  const used = taken.flatMap((dst): Prefix[] => {
    const c = parseRouteDst(dst);
    return c && c.family === family && c.prefixLen > 0 ? [prefixOfCidr(c)] : [];
  });
  const step = blockSize(family, prefixLen);
  const slots = prefixSize(r) / step;
  // Routes are few, so a short scan finds free slots; the cap keeps a huge range (an IPv6 /120) finite.
  const tries = slots < 1n << 20n ? slots : 1n << 20n;
  const found: string[] = [];
  for (let i = 0n; i < tries && found.length < count; i++) {
    const candidate = prefixOf(family, r.first + ((start + i) % slots) * step, prefixLen);
    if (!used.some((u) => overlaps(u, candidate))) found.push(formatPrefix(candidate));
  }
  if (found.length < count) throw new Error(`only ${found.length} of ${count} free /${prefixLen} subnets in ${formatPrefix(r)}`);
  return found;
}

/** Destinations of every route of `family` in every table of the host's network namespace. */
export async function hostRouteDestinations(family: Family): Promise<string[]> {
  const argv = ['ip', '-j', ...(family === 6 ? ['-6'] : ['-4']), 'route', 'show', 'table', 'all'];
  const { stdout } = await run(argv, { object: `IPv${family} routes`, step: 'list' });
  const routes = JSON.parse(stdout || '[]') as { dst?: string }[];
  return routes.flatMap((r) => (r.dst && r.dst !== 'default' ? [r.dst] : []));
}

/**
 * Returns `count` subnets of the family's test range that overlap no route on the host, starting from a
 * random slot. Reads the routing table only; reserves nothing, so a caller should use them at once.
 */
export async function freeSubnets(count: number, req: SubnetRequest): Promise<string[]> {
  const taken = await hostRouteDestinations(req.family);
  const start = BigInt(`0x${randomBytes(8).toString('hex')}`);
  return pickFreeSubnets(taken, count, { ...req, start });
}

/**
 * Adds `ip route add unreachable PREFIX` (in the host namespace, or in `netns`) for a test that expects
 * no reachability, and registers its removal when the test finishes. Throws CommandError if it exists.
 */
export async function installUnreachable(prefix: string, opts: { netns?: string } = {}): Promise<void> {
  const ip = opts.netns ? ['ip', '-n', opts.netns] : ['ip'];
  const object = `unreachable route ${prefix}${opts.netns ? ` in netns "${opts.netns}"` : ''}`;
  const { onTestFinished } = await import('vitest');
  await run([...ip, 'route', 'add', 'unreachable', prefix], { object, step: 'add' });
  onTestFinished(async () => {
    try {
      await run([...ip, 'route', 'del', 'unreachable', prefix], { object, step: 'delete' });
    } catch (err) {
      // Already gone (the test removed it, or its namespace went first): nothing to undo.
      if (!(err instanceof CommandError && /No such process|Cannot find|No such file/.test(err.stderr))) throw err;
    }
  });
}
