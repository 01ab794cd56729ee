import { describe, expect, it } from 'vitest';
import { KernelFeatureMissingError } from './errors.js';
import { checkUserNamespaces, releaseAtLeast } from './userns.js';

describe('user namespace support', () => {
  it('compares kernel releases by major and minor', () => {
    expect(releaseAtLeast('6.18.44-fc-v1147', [5, 19])).toBe(true);
    expect(releaseAtLeast('5.19.0', [5, 19])).toBe(true);
    expect(releaseAtLeast('5.10.0-28-amd64', [5, 19])).toBe(false);
    expect(releaseAtLeast('4.20.1', [5, 19])).toBe(false);
    expect(releaseAtLeast('garbage', [5, 19])).toBe(false);
  });

  it('refuses a kernel too old for id-mapped overlay layers, naming the version it needs', async () => {
    await expect(checkUserNamespaces('5.10.0-28-amd64')).rejects.toThrow(KernelFeatureMissingError);
    await expect(checkUserNamespaces('5.10.0-28-amd64')).rejects.toThrow(/5\.19/);
  });
});
