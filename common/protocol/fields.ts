/**
 * @module Field schemas shared by the three plugin APIs: Docker IDs, addresses, option maps.
 * Each one's message says what was expected, so a bad field is named and explained on the wire.
 */
import { z } from 'zod';
import { isIp, isMac, parseCidr } from '../addr/parse.js';

/** A Docker object ID (64 hex from dockerd; engine-lite uses the same form). Used in keys and names. */
export const id = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'must be a non-empty ID of letters, digits, "_", "." or "-" (at most 128)');

/** `addr/len`, IPv4 or IPv6. */
export const cidr = z.string().refine((s) => parseCidr(s) !== undefined, 'must be an address with a prefix length, e.g. 10.20.0.0/24');

/** A plain IPv4 or IPv6 address. */
export const ip = z.string().refine(isIp, 'must be a plain IP address, e.g. 10.20.0.5');

/** `""` (unset) or a CIDR. */
export const optionalCidr = z.union([z.literal(''), cidr]).default('');

/** `""` (unset) or a plain IP. */
export const optionalIp = z.union([z.literal(''), ip]).default('');

/** `""` (unset) or a MAC address. */
export const optionalMac = z
  .string()
  .refine((s) => s === '' || isMac(s), 'must be a MAC address like 02:42:0a:14:00:05')
  .default('');

/** A JSON object of options whose values the driver interprets; `null` and absent mean none. */
export const options = z
  .record(z.string(), z.unknown())
  .nullish()
  .transform((o) => o ?? {});

/** A string-to-string option map (`-o k=v`, `--ipam-opt`, volume `Opts`); `null` and absent mean none. */
export const stringOptions = z
  .record(z.string(), z.string())
  .nullish()
  .transform((o) => o ?? {});

/** A request with no fields (dockerd sends an empty body, which the server reads as `{}`). */
export const empty = z.object({});
