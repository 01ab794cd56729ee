import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../common/protocol/errors.js';
import { checkVolumeName, volumePaths } from './names.js';
import { refusal } from '../testing/refusal.js';

describe('volume names', () => {
  it.each(['ab', 'data', 'my-vol_1.2', 'A0', 'f'.repeat(64), 'x'.repeat(255), 'a..b'])('accepts %j', (name) => {
    expect(() => checkVolumeName(name)).not.toThrow();
  });

  it.each(['', 'a', '../x', '..', '.', '/', '/etc', 'a/b', 'a\0b', '-x', '_x', '.hidden', 'a b', 'tab\tx', 'é-vol', 'x'.repeat(256)])(
    'refuses %j with a message naming the rule',
    (name) => {
      expect(() => checkVolumeName(name)).toThrow(refusal('ERR_INVALID_REQUEST', /volume name/));
    },
  );

  it('puts every path of a volume inside its own directory under the root', () => {
    const p = volumePaths('/var/lib/tsnet/volume/volumes/', 'v1');
    expect(p).toEqual({
      dir: '/var/lib/tsnet/volume/volumes/v1',
      data: '/var/lib/tsnet/volume/volumes/v1/_data',
      image: '/var/lib/tsnet/volume/volumes/v1/disk.ext4',
      mountpoint: '/var/lib/tsnet/volume/volumes/v1/_data',
    });
  });

  it('gives <mountDir>/<name> as the Mountpoint when a mount dir is set', () => {
    expect(volumePaths('/r', 'v1', '/mnt/tsvol/').mountpoint).toBe('/mnt/tsvol/v1');
  });

  it('never builds a path from a name that would leave the root', () => {
    for (const name of ['../../etc', 'v1/../../x', '/abs']) expect(() => volumePaths('/r', name)).toThrow(InvalidRequestError);
  });
});
