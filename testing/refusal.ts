/**
 * @module Asserting an error by its stable `code` (docs/errors.md) and, where the message is the
 * contract a user reads (the `Err` naming the bad option or the object in the way), by its text too:
 * `expect(() => parse(o)).toThrow(refusal('ERR_INVALID_REQUEST', /option "vni"/))`,
 * `await expect(create()).rejects.toThrow(refusal('ERR_CONFLICT'))`. One call, so an action with side
 * effects runs once, and a wrong code fails even when the text matches.
 */
import { expect } from 'vitest';

/** Matches a thrown error whose `code` is `code` and whose message, when given, contains the string or matches the pattern. */
export function refusal(code: string, message?: string | RegExp): ReturnType<typeof expect.objectContaining> {
  if (message === undefined) return expect.objectContaining({ code });
  return expect.objectContaining({ code, message: typeof message === 'string' ? expect.stringContaining(message) : expect.stringMatching(message) });
}
