import { describe, expect, test } from 'vitest';
import { Errno } from './rt-errors.js';
import { INTERRUPTED, MAX_DUMP_ATTEMPTS, retryInterrupted } from './rtnl-socket.js';

describe('retryInterrupted (NLM_F_DUMP_INTR / EINTR)', () => {
  test('retries an interrupted dump until it is complete', async () => {
    let calls = 0;
    const result = await retryInterrupted(async () => (++calls < 3 ? INTERRUPTED : ['a', 'b']));
    expect(result).toEqual(['a', 'b']);
    expect(calls).toBe(3);
  });

  test(`gives up with EINTR after ${MAX_DUMP_ATTEMPTS} attempts`, async () => {
    let calls = 0;
    const err = await retryInterrupted(async () => (calls++, INTERRUPTED)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Errno);
    expect(err).toMatchObject({ errno: 'EINTR' });
    expect(calls).toBe(MAX_DUMP_ATTEMPTS);
  });

  test('other failures are not retried', async () => {
    let calls = 0;
    const fail = async (): Promise<never> => {
      calls++;
      throw new Errno('EPERM', 'Operation not permitted');
    };
    await expect(retryInterrupted(fail)).rejects.toMatchObject({ errno: 'EPERM' });
    expect(calls).toBe(1);
  });
});
