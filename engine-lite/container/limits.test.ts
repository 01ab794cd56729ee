import { describe, expect, it } from 'vitest';
import { parseCpus, parseMemory, parsePidsLimit } from './limits.js';
import { resolveCapabilities } from './capabilities.js';
import { refusal } from '../../testing/refusal.js';

describe('resource flags', () => {
  it('reads sizes in binary units, with docker’s 6 MB floor', () => {
    expect(parseMemory('16m')).toBe(16 * 2 ** 20);
    expect(parseMemory('1.5g')).toBe(1.5 * 2 ** 30);
    expect(parseMemory('64MiB')).toBe(64 * 2 ** 20);
    expect(parseMemory('10485760')).toBe(10485760);
    expect(() => parseMemory('4m')).toThrow(refusal('ERR_INVALID_ARGUMENT', 'Minimum memory limit allowed is 6MB'));
    expect(() => parseMemory('lots')).toThrow(refusal('ERR_INVALID_ARGUMENT', "invalid size: 'lots'"));
  });

  it('reads --cpus within the CPUs there are', () => {
    expect(parseCpus('0.5', 2)).toBe(5e8);
    expect(() => parseCpus('3', 2)).toThrow(refusal('ERR_INVALID_ARGUMENT', 'range of CPUs is from 0.01 to 2.00'));
    expect(() => parseCpus('-1', 2)).toThrow(refusal('ERR_INVALID_ARGUMENT', 'not a number'));
  });

  it('treats --pids-limit 0 and -1 as unlimited', () => {
    expect(parsePidsLimit('10')).toBe(10);
    expect(parsePidsLimit('-1')).toBe(0);
    expect(() => parsePidsLimit('ten')).toThrow(refusal('ERR_INVALID_ARGUMENT', 'not an integer'));
  });
});

describe('resolveCapabilities', () => {
  const DEFAULT = [0, 1, 3, 4, 5, 6, 7, 8, 10, 13, 18, 27, 29, 31]; // docker's CapEff 00000000a80425fb

  it('gives docker’s default set', () => {
    expect(resolveCapabilities({ privileged: false, add: [], drop: [] })).toEqual(DEFAULT);
  });

  it('adds and drops by name, with or without CAP_, and ALL', () => {
    expect(resolveCapabilities({ privileged: false, add: ['net_admin'], drop: ['CAP_KILL'] })).toEqual([...DEFAULT.filter((c) => c !== 5), 12].sort((a, b) => a - b));
    expect(resolveCapabilities({ privileged: false, add: ['NET_RAW'], drop: ['ALL'] })).toEqual([13]);
    expect(resolveCapabilities({ privileged: false, add: ['ALL'], drop: [] })).toBe('all');
    expect(resolveCapabilities({ privileged: true, add: [], drop: ['ALL'] })).toBe('all');
    expect(() => resolveCapabilities({ privileged: false, add: ['FLY'], drop: [] })).toThrow(refusal('ERR_INVALID_ARGUMENT', 'unknown capability: "FLY"'));
  });
});
