import { describe, expect, it } from 'vitest';
import { formatTable } from './table.js';

describe('formatTable', () => {
  it('aligns columns under upper-case headers and shows empty cells as -', () => {
    expect(formatTable(['POOL ID', 'USED'], [['LocalDefault/10.20.0.0/24', '3'], ['x', '']])).toBe(
      'POOL ID                     USED\nLocalDefault/10.20.0.0/24   3\nx                           -\n',
    );
  });
});
