/**
 * @module The prefix registry keeps the suite's promise that every kernel object name starts with `ts`,
 * which is what lets the leak check and the modes' restore tell our objects from everyone else's.
 */
import { describe, expect, it } from 'vitest';
import { CHAIN_PREFIX, LINK_PREFIXES, NFT_TABLE_PREFIX, SUITE_PREFIX } from './names.js';

describe('name prefixes', () => {
  it('all start with the suite prefix', () => {
    for (const p of [...Object.values(LINK_PREFIXES), NFT_TABLE_PREFIX, CHAIN_PREFIX.toLowerCase()]) expect(p.startsWith(SUITE_PREFIX), p).toBe(true);
  });
});
