/**
 * @module Property tests of common/addr: parsing and formatting against independent implementations
 * (node's `net.isIP`, the WHATWG URL host serializer for IPv6), the byte forms, and the prefix
 * relations, over generated addresses and prefixes of both families.
 */
import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ADDRESS_BITS, formatIp, ipFromBytes, ipToBytes, parseCidr, parseCidrOrHost, parseIp, type Family } from './parse.js';
import { containsAddress, containsPrefix, formatPrefix, overlaps, parsePrefix, prefixOf, prefixSize, type Prefix } from './prefix.js';

const family = fc.constantFrom<Family>(4, 6);
const address = family.chain((f) => fc.record({ family: fc.constant(f), addr: fc.bigInt({ min: 0n, max: (1n << BigInt(ADDRESS_BITS[f])) - 1n }) }));
const prefix = address.chain(({ family: f, addr }) => fc.integer({ min: 0, max: ADDRESS_BITS[f] }).map((len) => prefixOf(f, addr, len)));
/** Two prefixes, half the time the second built around an address of the first (so that they often overlap). */
const prefixPair = fc.oneof(
  fc.tuple(prefix, prefix),
  prefix.chain((a) =>
    fc.tuple(fc.bigInt({ min: a.first, max: a.last }), fc.integer({ min: 0, max: ADDRESS_BITS[a.family] })).map(([addr, len]): [Prefix, Prefix] => [a, prefixOf(a.family, addr, len)]),
  ),
);
/** IPv6 text as the URL standard serializes it (RFC 5952: lower case, first longest run of ≥ 2 zero groups as `::`). */
const whatwgIpv6 = (text: string) => new URL(`http://[${text}]/`).hostname.slice(1, -1);

describe('addresses', () => {
  it('format then parse gives the same address, as text node accepts', () => {
    fc.assert(
      fc.property(address, ({ family: f, addr }) => {
        const text = formatIp(f, addr);
        expect(isIP(text)).toBe(f);
        expect(parseIp(text)).toEqual({ family: f, addr });
      }),
    );
  });

  it('every IPv4 text reads back unchanged', () => {
    fc.assert(
      fc.property(fc.ipV4(), (text) => {
        expect(formatIp(4, parseIp(text)!.addr)).toBe(text);
      }),
    );
  });

  it('every IPv6 text (compressed, full, IPv4 tail) is read and written as the URL standard writes it', () => {
    fc.assert(
      fc.property(fc.ipV6(), (text) => {
        const ip = parseIp(text);
        expect(ip?.family).toBe(6);
        expect(formatIp(6, ip!.addr)).toBe(whatwgIpv6(text));
      }),
    );
  });

  it('bytes round-trip in network order', () => {
    fc.assert(
      fc.property(address, ({ family: f, addr }) => {
        const bytes = ipToBytes(f, addr);
        expect(bytes.length).toBe(ADDRESS_BITS[f] / 8);
        expect(ipFromBytes(bytes)).toEqual({ family: f, addr });
      }),
    );
    expect(ipToBytes(4, parseIp('10.1.2.3')!.addr)).toEqual(Buffer.from([10, 1, 2, 3]));
    expect(() => ipFromBytes(new Uint8Array(5))).toThrow(RangeError);
  });

  it('a bare address is its host prefix', () => {
    fc.assert(
      fc.property(address, ({ family: f, addr }) => {
        expect(parseCidrOrHost(formatIp(f, addr))).toEqual({ family: f, addr, prefixLen: ADDRESS_BITS[f] });
      }),
    );
    expect(parseCidrOrHost('default')).toBeUndefined();
  });
});

describe('prefixes', () => {
  it('text round-trips, strictly, and covers 2^(bits - len) addresses', () => {
    fc.assert(
      fc.property(prefix, (p) => {
        expect(parsePrefix(formatPrefix(p), true)).toEqual(p);
        expect(parseCidr(formatPrefix(p))).toEqual({ family: p.family, addr: p.first, prefixLen: p.len });
        expect(prefixSize(p)).toBe(1n << BigInt(ADDRESS_BITS[p.family] - p.len));
      }),
    );
  });

  it('the prefix of an address contains it, and its host bits are cleared', () => {
    fc.assert(
      fc.property(address, fc.nat(128), ({ family: f, addr }, n) => {
        const p = prefixOf(f, addr, n % (ADDRESS_BITS[f] + 1));
        expect(containsAddress(p, f, addr)).toBe(true);
        expect(p.first % prefixSize(p)).toBe(0n);
      }),
    );
  });

  it('two prefixes overlap exactly when one contains the other; never across families', () => {
    fc.assert(
      fc.property(prefixPair, ([a, b]) => {
        expect(overlaps(a, b)).toBe(overlaps(b, a));
        expect(overlaps(a, b)).toBe(containsPrefix(a, b) || containsPrefix(b, a));
        if (a.family !== b.family) expect(overlaps(a, b)).toBe(false);
        if (containsPrefix(a, b)) expect(containsAddress(a, b.family, b.last)).toBe(true);
      }),
    );
  });
});
