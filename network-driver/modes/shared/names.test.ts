import { describe, expect, it } from 'vitest';
import { nameFromId } from './names.js';

describe('nameFromId', () => {
  const id = '3f2a9c01b7e4d5f60718293a4b5c6d7e8f90112233445566778899aabbccddee';

  it('fills exactly the 15 bytes Linux allows', () => {
    expect(nameFromId('tsbr-', id)).toBe('tsbr-3f2a9c01b7');
    expect(nameFromId('tsv', id)).toBe('tsv3f2a9c01b7e4');
    for (const prefix of ['tsbr-', 'tsv', 'tsc', 'tsvx-', 'tsmv']) expect(Buffer.byteLength(nameFromId(prefix, id))).toBe(15);
  });

  it('refuses a prefix that leaves too little of the ID, and IDs that are not plain', () => {
    expect(() => nameFromId('tsnet-bridge-', id)).toThrow(RangeError);
    expect(() => nameFromId('tsv', 'ABC/def0123')).toThrow(RangeError);
  });
});
