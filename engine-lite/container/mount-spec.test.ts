import { describe, expect, it } from 'vitest';
import { checkDuplicateDestinations, parseMountFlag, parseVolumeFlag } from './mount-spec.js';
import { refusal } from '../../testing/refusal.js';

describe('parseVolumeFlag (-v)', () => {
  it('reads bind mounts, named and anonymous volumes', () => {
    expect(parseVolumeFlag('/host:/data', 'tsvol')).toEqual({ type: 'bind', source: '/host', destination: '/data', readonly: false });
    expect(parseVolumeFlag('/host:/data:ro', 'tsvol')).toMatchObject({ type: 'bind', readonly: true });
    expect(parseVolumeFlag('vol:/data:rw,z', 'tsvol')).toEqual({ type: 'volume', source: 'vol', destination: '/data', readonly: false, driver: 'tsvol' });
    expect(parseVolumeFlag('/data', 'tsvol')).toEqual({ type: 'volume', source: '', destination: '/data', readonly: false, driver: 'tsvol', anonymous: true });
  });

  it('leaves volume names to the driver, as dockerd does for plugin drivers', () => {
    expect(parseVolumeFlag('bad name:/d', 'x')).toMatchObject({ type: 'volume', source: 'bad name' });
    expect(parseMountFlag('src=../up,dst=/d', 'x')).toMatchObject({ type: 'volume', source: '../up' });
  });

  it('refuses what docker refuses, with docker’s words', () => {
    expect(() => parseVolumeFlag('a:b:c:d', 'x')).toThrow(refusal('ERR_INVALID_ARGUMENT', "invalid volume specification: 'a:b:c:d'"));
    expect(() => parseVolumeFlag('vol:relative', 'x')).toThrow(refusal('ERR_INVALID_ARGUMENT', 'mount path must be absolute'));
    expect(() => parseVolumeFlag('/h:/', 'x')).toThrow(refusal('ERR_INVALID_ARGUMENT', "destination can't be '/'"));
    expect(() => parseVolumeFlag('/h:/d:bogus', 'x')).toThrow(refusal('ERR_INVALID_ARGUMENT', 'invalid mode: bogus'));
    expect(() => parseVolumeFlag('/h:/d:shared', 'x')).toThrow(refusal('ERR_INVALID_ARGUMENT', 'only private propagation'));
    expect(() => parseVolumeFlag('/h:/d:nocopy', 'x')).toThrow(refusal('ERR_INVALID_ARGUMENT', 'invalid mode: nocopy'));
  });
});

describe('parseMountFlag (--mount)', () => {
  it('reads volume, bind and tmpfs mounts', () => {
    expect(parseMountFlag('type=volume,src=vv,dst=/d,volume-driver=tsvol,volume-opt=type=tmpfs,volume-opt=size=64m,readonly', 'x')).toEqual({
      type: 'volume',
      source: 'vv',
      destination: '/d',
      readonly: true,
      driver: 'tsvol',
      volumeOptions: { type: 'tmpfs', size: '64m' },
    });
    expect(parseMountFlag('type=bind,source=/h,target=/d,ro=false', 'x')).toEqual({ type: 'bind', source: '/h', destination: '/d', readonly: false });
    expect(parseMountFlag('type=tmpfs,dst=/t,tmpfs-size=1m', 'x')).toEqual({ type: 'tmpfs', source: '', destination: '/t', readonly: false, tmpfsOptions: 'size=1m' });
    expect(parseMountFlag('dst=/anon', 'd')).toMatchObject({ type: 'volume', anonymous: true, driver: 'd' });
  });

  it('names the problem', () => {
    expect(() => parseMountFlag('type=bind,src=/h', 'x')).toThrow(refusal('ERR_INVALID_ARGUMENT', 'target is required'));
    expect(() => parseMountFlag('type=nfs,dst=/d', 'x')).toThrow(refusal('ERR_INVALID_ARGUMENT', 'mount type "nfs" is not supported'));
    expect(() => parseMountFlag('type=bind,src=rel,dst=/d', 'x')).toThrow(refusal('ERR_INVALID_ARGUMENT', 'bind source must be an absolute path'));
    expect(() => parseMountFlag('dst=/d,colour=red', 'x')).toThrow(refusal('ERR_INVALID_ARGUMENT', "unexpected key 'colour'"));
    expect(() => parseMountFlag('dst=/d,volume-opt=novalue', 'x')).toThrow(refusal('ERR_INVALID_ARGUMENT', 'volume-opt must be key=value'));
  });
});

describe('checkDuplicateDestinations', () => {
  it('refuses two mounts on one path', () => {
    const m = { type: 'bind' as const, source: '/a', readonly: false };
    expect(() => checkDuplicateDestinations([{ ...m, destination: '/d' }, { ...m, destination: '/d/' }])).toThrow(refusal('ERR_INVALID_ARGUMENT', 'Duplicate mount point: /d'));
    expect(() => checkDuplicateDestinations([{ ...m, destination: '/d' }, { ...m, destination: '/e' }])).not.toThrow();
  });
});
