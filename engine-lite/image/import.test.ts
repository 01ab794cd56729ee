import { describe, expect, it } from 'vitest';
import { normalizeImageName } from './images.js';
import { applyChanges } from './import.js';
import { formatBytes, renderBar } from './progress.js';
import { refusal } from '../../testing/refusal.js';

describe('image import', () => {
  it('applies --change like docker import', () => {
    expect(applyChanges(['CMD ["sh"]', 'ENTRYPOINT echo hi', 'ENV A=1 B=2', 'ENV A 3', 'WORKDIR /w'])).toEqual({
      cmd: ['sh'],
      entrypoint: ['/bin/sh', '-c', 'echo hi'],
      env: ['B=2', 'A=3'],
      workdir: '/w',
    });
    expect(() => applyChanges(['EXPOSE 80'])).toThrow(refusal('ERR_INVALID_ARGUMENT', 'unsupported instruction'));
    expect(() => applyChanges(['CMD ["sh"'])).toThrow(refusal('ERR_INVALID_ARGUMENT', 'not a valid JSON array'));
    expect(() => applyChanges(['WORKDIR w'])).toThrow(refusal('ERR_INVALID_ARGUMENT', 'must be an absolute path'));
  });

  it('names images as docker does', () => {
    expect(normalizeImageName('busybox')).toBe('busybox:latest');
    expect(normalizeImageName('tsnet-test/busybox:v1')).toBe('tsnet-test/busybox:v1');
    expect(normalizeImageName('localhost:5000/x')).toBe('localhost:5000/x:latest');
    expect(() => normalizeImageName('Upper')).toThrow(refusal('ERR_INVALID_ARGUMENT', 'invalid reference format'));
  });

  it('draws a progress bar', () => {
    expect(formatBytes(2_129_920)).toBe('2.13MB');
    expect(renderBar('Importing', 50, 100)).toBe(`Importing [${'='.repeat(15)}>${' '.repeat(14)}] 50B/100B`);
    expect(renderBar('Importing', 100, 100)).toBe(`Importing [${'='.repeat(30)}] 100B/100B`);
  });
});
