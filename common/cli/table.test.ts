import { describe, expect, it } from 'vitest';
import { formatTable } from './table.js';

describe('formatTable', () => {
  it('lays out columns three spaces apart as docker does, the last unpadded, no trailing blanks', () => {
    expect(formatTable(['A', 'LONG'], [['xx', 'y'], ['z', '']])).toBe('A    LONG\nxx   y\nz\n');
  });

  it('shows empty cells as `empty` (tsnet ipam), never in the header', () => {
    expect(formatTable(['POOL ID', 'USED'], [['LocalDefault/10.20.0.0/24', '3'], ['x', '']], { empty: '-' })).toBe(
      'POOL ID                     USED\nLocalDefault/10.20.0.0/24   3\nx                           -\n',
    );
  });

  it('takes another gap (tsnet volume ls: two spaces)', () => {
    expect(formatTable(['NAME', 'USED'], [['a', '1 KiB'], ['longer', '0 B']], { gap: 2 })).toBe('NAME    USED\na       1 KiB\nlonger  0 B\n');
  });

  it('right-aligns the columns it is told to (bench figures), the last one too', () => {
    expect(formatTable(['method', 'p50 ms', 'n'], [['netlink', '0.412', '1000'], ['ip', '12.300', '20']], { gap: 2, rightAligned: [1, 2] })).toBe(
      'method   p50 ms     n\nnetlink   0.412  1000\nip       12.300    20\n',
    );
  });

  it('prints the header alone when there are no rows', () => {
    expect(formatTable(['NAME', 'DRIVER'], [])).toBe('NAME   DRIVER\n');
  });
});
