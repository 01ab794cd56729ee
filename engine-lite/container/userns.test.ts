import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.js';
import { parseUserns, resolveUserns, subordinateRange } from './userns.js';

describe('--userns', () => {
  it('reads the first range of a user from /etc/subuid text', () => {
    const text = '# comment\nalice:100000:65536\ntsremap:300000:1000\ntsremap:900000:5\n';
    expect(subordinateRange(text, 'tsremap')).toEqual({ start: 300000, count: 1000 });
    expect(subordinateRange(text, 'bob')).toBeUndefined();
  });

  it('means no user namespace for host or nothing', () => {
    expect(parseUserns(undefined)).toBeUndefined();
    expect(parseUserns('host')).toBeUndefined();
  });

  it('takes the tsremap ranges by default, else 100000:65536', () => {
    expect(parseUserns('remap')).toEqual({ uid: 100000, gid: 100000, count: 65536 });
    expect(parseUserns('remap', 'tsremap:300000:1000\n', 'tsremap:400000:2000\n')).toEqual({ uid: 300000, gid: 400000, count: 1000 });
  });

  it('takes HOSTUID and COUNT as given', () => {
    expect(parseUserns('remap:200000')).toEqual({ uid: 200000, gid: 200000, count: 65536 });
    expect(parseUserns('remap:200000:1000')).toEqual({ uid: 200000, gid: 200000, count: 1000 });
  });

  it('refuses malformed values, host root and ranges that do not fit', () => {
    for (const v of ['remapx', 'private', 'remap:abc', 'remap:1:2:3', 'remap:0', 'remap:100:0', 'remap:4294967290:100']) {
      expect(() => parseUserns(v), v).toThrow(InvalidArgumentError);
    }
  });

  it('refuses --privileged and a --user outside the range', async () => {
    await expect(resolveUserns('remap', { privileged: true })).rejects.toThrow(InvalidArgumentError);
    await expect(resolveUserns('remap:100000:1000', { privileged: false, uid: 1000 })).rejects.toThrow(/user 1000 is outside/);
    await expect(resolveUserns('host', { privileged: true })).resolves.toBeUndefined();
  });
});
