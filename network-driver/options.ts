/**
 * @module Reading CreateNetwork's `Options`: Docker's top-level labels and the `-o k=v` map
 * (`com.docker.network.generic`). Pure.
 */
import { InvalidRequestError } from '../common/protocol/errors.js';

export const GENERIC = 'com.docker.network.generic';
export const INTERNAL = 'com.docker.network.internal';
export const ENABLE_IPV6 = 'com.docker.network.enable_ipv6';

/** The mode used when `-o mode=` is not given, as docs/tsnet.md says. */
export const DEFAULT_MODE = 'bridge';

export interface NetworkOptions {
  mode: string;
  /** Every `-o` option except `mode`, as strings. */
  generic: Record<string, string>;
  internal: boolean;
  enableIpv6: boolean;
}

function flag(options: Record<string, unknown>, key: string): boolean {
  const v = options[key];
  if (v === undefined || v === null || v === false || v === 'false' || v === '') return false;
  if (v === true || v === 'true') return true;
  throw new InvalidRequestError(`option ${key} must be true or false, got ${JSON.stringify(v)}`);
}

/** Splits CreateNetwork's options; throws InvalidRequestError naming a malformed one. */
export function readNetworkOptions(options: Record<string, unknown>): NetworkOptions {
  const raw = options[GENERIC] ?? {};
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new InvalidRequestError(`option ${GENERIC} must be an object of -o options`);
  }
  const generic: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      throw new InvalidRequestError(`option "${k}" must be a string, got ${JSON.stringify(v)}`);
    }
    generic[k] = String(v);
  }
  const { mode = DEFAULT_MODE, ...rest } = generic;
  return { mode, generic: rest, internal: flag(options, INTERNAL), enableIpv6: flag(options, ENABLE_IPV6) };
}
