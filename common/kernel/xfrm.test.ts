/**
 * `ip xfrm`'s listings as iproute2 prints them (ipxfrm.c: with and without `-s`), and the batch lines
 * the changes become. The kernel of the test machine has no ESP, so states are read here from text in
 * iproute2's format; policies are also read from a real kernel in xfrm.root.test.ts. No root.
 */
import { describe, expect, it } from 'vitest';
import { changeLine, isOurReqid, parsePolicies, parseStateBytes, parseStates } from './xfrm.js';

const KEY = 'ab'.repeat(36);
const STATES = `src 10.77.0.2 dst 10.77.0.1
\tproto esp spi 0x12345678 reqid 1946157133 mode transport
\treplay-window 0 
\taead rfc4106(gcm(aes)) 0x${KEY} 128
\tsel src 0.0.0.0/0 dst 0.0.0.0/0 
src 10.1.1.1 dst 10.1.1.2
\tproto esp spi 0x00001000 reqid 5 mode tunnel
\treplay-window 32 
`;
const STATES_STATS = `src 10.77.0.1 dst 10.77.0.2
\tproto esp spi 0x0badf00d(195948557) reqid 1946157133(0x7400004d) mode transport
\treplay-window 0 seq 0x00000000 flag  (0x00000000)
\taead rfc4106(gcm(aes)) 0x${KEY} (288 bits) 128
\tlifetime config:
\t  limit: soft (INF)(bytes), hard (INF)(bytes)
\t  limit: soft (INF)(packets), hard (INF)(packets)
\t  expire add: soft 0(sec), hard 0(sec)
\t  expire use: soft 0(sec), hard 0(sec)
\tlifetime current:
\t  123456(bytes), 99(packets)
\t  add 2026-12-03 14:00:00 use 2026-12-03 14:00:01
\tstats:
\t  replay-window 0 replay 0 failed 0
`;
const POLICIES = `src 10.77.0.1/32 dst 10.77.0.2/32 proto udp dport 14877 
\tdir out priority 0 ptype main 
\ttmpl src 10.77.0.1 dst 10.77.0.2
\t\tproto esp reqid 1946157133 mode transport
src 10.77.0.2/32 dst 10.77.0.1/32 proto udp dport 14877 
\tdir in priority 0 ptype main 
\ttmpl src 0.0.0.0 dst 0.0.0.0
\t\tproto esp reqid 1946157133 mode transport
src 10.77.0.1/32 dst 0.0.0.0/0 proto udp dport 14877 
\tdir out action block priority 1946157133 ptype main 
src 0.0.0.0/0 dst 0.0.0.0/0 
\tsocket in priority 0 ptype main 
`;

describe('xfrm listings', () => {
  it('reads states without their keys, with and without statistics', () => {
    expect(parseStates(STATES)).toEqual([
      { src: '10.77.0.2', dst: '10.77.0.1', spi: 0x12345678, reqid: 1946157133 },
      { src: '10.1.1.1', dst: '10.1.1.2', spi: 0x1000, reqid: 5 },
    ]);
    expect(JSON.stringify(parseStates(STATES))).not.toContain(KEY);
    expect(parseStates(STATES_STATS)).toEqual([{ src: '10.77.0.1', dst: '10.77.0.2', spi: 0x0badf00d, reqid: 0x7400004d }]);
  });
  it('reads the byte counters of our states only', () => {
    expect(parseStateBytes(STATES_STATS)).toEqual(new Map([[0x0badf00d, 123456]]));
    expect(parseStateBytes(STATES_STATS.replace('1946157133(0x7400004d)', '5(0x00000005)'))).toEqual(new Map());
  });
  it('reads UDP policies with an ESP template; socket policies and others are left out', () => {
    expect(parsePolicies(POLICIES)).toEqual([
      { src: '10.77.0.1', dst: '10.77.0.2', dport: 14877, dir: 'out', reqid: 0x7400004d },
      { src: '10.77.0.2', dst: '10.77.0.1', dport: 14877, dir: 'in', reqid: 0x7400004d },
      { src: '10.77.0.1', dst: '0.0.0.0/0', dport: 14877, dir: 'out', reqid: 0x7400004d, block: true },
    ]);
    expect(isOurReqid(1946157133)).toBe(true);
    expect(isOurReqid(5)).toBe(false);
  });
  it('writes batch lines: states by update with the AEAD, policies with a transport template', () => {
    const state = { src: '10.77.0.1', dst: '10.77.0.2', spi: 0x1000, reqid: 0x7400004d };
    expect(changeLine({ add: 'state', state: { ...state, key: KEY } })).toBe(
      `xfrm state update src 10.77.0.1 dst 10.77.0.2 proto esp spi 0x00001000 reqid 1946157133 mode transport aead rfc4106(gcm(aes)) 0x${KEY} 128`,
    );
    expect(changeLine({ del: 'state', state })).toBe('xfrm state delete src 10.77.0.1 dst 10.77.0.2 proto esp spi 0x00001000');
    const policy = { src: '10.77.0.1', dst: '10.77.0.2', dport: 14877, dir: 'out' as const, reqid: 0x7400004d };
    expect(changeLine({ add: 'policy', policy })).toBe('xfrm policy update src 10.77.0.1 dst 10.77.0.2 proto udp dport 14877 dir out tmpl src 10.77.0.1 dst 10.77.0.2 proto esp reqid 1946157133 mode transport');
    expect(changeLine({ del: 'policy', policy: { ...policy, dir: 'in' } })).toBe('xfrm policy delete src 10.77.0.1 dst 10.77.0.2 proto udp dport 14877 dir in');
    expect(changeLine({ add: 'policy', policy: { ...policy, dst: '0.0.0.0/0', block: true } })).toBe('xfrm policy update src 10.77.0.1 dst 0.0.0.0/0 proto udp dport 14877 dir out action block priority 1946157133');
  });
});
