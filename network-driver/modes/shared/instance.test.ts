import { describe, expect, it } from 'vitest';
import { instanceTag } from './instance.js';

describe('instanceTag', () => {
  it('is 6 hex digits, stable per state directory and distinct between them', () => {
    expect(instanceTag('/var/lib/tsnet/network')).toBe(instanceTag('/var/lib/tsnet/network'));
    expect(instanceTag('/tmp/a')).not.toBe(instanceTag('/tmp/b'));
    expect(instanceTag('/x')).toMatch(/^[0-9a-f]{6}$/);
  });
});
