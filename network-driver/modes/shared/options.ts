/**
 * @module Reading a mode's `-o` options against a table of what it accepts: each option has Docker's
 * name (what the record stores) and short forms, and a normaliser that checks the value and writes it
 * one canonical way. Unknown options are refused with the list of valid ones. Pure.
 */
import { isIp } from '../../../common/addr/parse.js';
import { IFNAME_MAX_BYTES } from '../../../common/kernel/link-types.js';
import { InvalidRequestError } from '../../../common/protocol/errors.js';

/** Checks one option value and returns it in canonical form; `given` is the name the user wrote. */
export type Normaliser = (value: string, given: string) => string;

/** One accepted option. */
export interface OptionSpec {
  /** Docker's name when Docker has one (`com.docker.network.driver.mtu`); the key stored in the record. */
  name: string;
  /** Short forms accepted as well (`mtu`). */
  aliases: readonly string[];
  normalise: Normaliser;
}

/** Every name a table accepts, Docker names first, for `NetworkMode.optionNames` and messages. */
export function acceptedNames(specs: readonly OptionSpec[]): string[] {
  return [...specs.map((s) => s.name), ...specs.flatMap((s) => s.aliases)];
}

/**
 * Maps `generic` (the `-o` options) onto the table: returns `{dockerName: canonical value}` for the
 * options given. Throws InvalidRequestError for an unknown option (listing the valid ones), a bad
 * value (naming the option), or one option given twice under two names with different values.
 */
export function normaliseOptions(mode: string, specs: readonly OptionSpec[], generic: Record<string, string>): Record<string, string> {
  const byName = new Map<string, OptionSpec>();
  for (const spec of specs) for (const n of [spec.name, ...spec.aliases]) byName.set(n, spec);
  const unknown = Object.keys(generic).filter((k) => !byName.has(k));
  if (unknown.length > 0) {
    const valid = specs.map((s) => (s.aliases.length > 0 ? `${s.name} (or ${s.aliases.join(', ')})` : s.name)).join('; ');
    throw new InvalidRequestError(`unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')} for mode ${mode}; valid options: ${valid}`);
  }
  const out: Record<string, string> = {};
  const givenAs: Record<string, string> = {};
  for (const [given, raw] of Object.entries(generic)) {
    const spec = byName.get(given)!;
    const value = spec.normalise(raw, given);
    const earlier = givenAs[spec.name];
    if (earlier !== undefined && out[spec.name] !== value) {
      throw new InvalidRequestError(`options "${earlier}" and "${given}" are the same setting with different values (${out[spec.name]} and ${value}); give it once`);
    }
    out[spec.name] = value;
    givenAs[spec.name] = given;
  }
  return out;
}

const TRUE = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False']);

/** A boolean, spelled as Go's strconv.ParseBool accepts it (`true`, `1`, `F`, …); canonical `true`/`false`. */
export const booleanValue: Normaliser = (value, given) => {
  if (TRUE.has(value)) return 'true';
  if (FALSE.has(value)) return 'false';
  throw new InvalidRequestError(`option "${given}" must be true or false, got "${value}"`);
};

/** A decimal integer between `min` and `max` inclusive. */
export function integerValue(min: number, max: number): Normaliser {
  return (value, given) => {
    const n = /^\d+$/.test(value.trim()) ? Number(value.trim()) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidRequestError(`option "${given}" must be a whole number from ${min} to ${max}, got "${value}"`);
    }
    return String(n);
  };
}

/** Smallest MTU Linux accepts on an Ethernet-like link (IPv4's minimum); IPv6 networks need 1280. */
export const MIN_MTU = 68;
/** Largest MTU a link can have. */
export const MAX_MTU = 65535;

/** An MTU: a whole number from 68 to 65535. */
export const mtuValue: Normaliser = integerValue(MIN_MTU, MAX_MTU);

/** A plain IPv4 or IPv6 address (no prefix length). */
export const ipValue: Normaliser = (value, given) => {
  if (!isIp(value)) throw new InvalidRequestError(`option "${given}" must be an IP address, got "${value}"`);
  return value;
};

/** An interface name Linux accepts: 1–15 bytes of letters, digits, `_`, `.`, `-`. */
export const interfaceNameValue: Normaliser = (value, given) => {
  if (!/^[A-Za-z0-9_.-]+$/.test(value) || Buffer.byteLength(value) > IFNAME_MAX_BYTES || value === '.' || value === '..') {
    throw new InvalidRequestError(`option "${given}" must be an interface name of 1 to ${IFNAME_MAX_BYTES} letters, digits, "_", "." or "-", got "${value}"`);
  }
  return value;
};

/**
 * A prefix for interface names to which Docker appends an index (`eth` → `eth0`): a letter, then letters,
 * digits, `_` or `-`, short enough to leave room for a 3-digit index.
 */
export const interfacePrefixValue: Normaliser = (value, given) => {
  const max = IFNAME_MAX_BYTES - 3;
  if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(value) || value.length > max) {
    throw new InvalidRequestError(`option "${given}" must be a letter followed by up to ${max - 1} letters, digits, "_" or "-", got "${value}"`);
  }
  return value;
};
