/**
 * @module Field schemas shared by the three plugin APIs: Docker IDs, addresses, option maps.
 * Each one's message says what was expected, so a bad field is named and explained on the wire.
 */
import { z } from 'zod';
import { isIp, isMac, parseCidr } from '../addr/parse.js';

/**
 * A Docker object ID: network, endpoint and mount IDs are 64 hex digits from dockerd and engine-lite
 * (swarm's are 25 lower-case alphanumerics). The drivers put the start of an ID into kernel object
 * names and store keys, so anything else is refused here, before a driver sees it.
 */
export const id = z.string().regex(/^[a-z0-9]{1,128}$/, 'must be a Docker ID: 1 to 128 lower-case letters and digits (dockerd sends 64 hex digits)');

/** The path of a network namespace, as dockerd (`/var/run/docker/netns/…`) and engine-lite send it. */
export const sandboxKey = z
  .string()
  .min(1, 'must name the sandbox')
  .max(4096, 'must be at most 4096 characters')
  .regex(/^\/[^\0]*$/, 'must be the absolute path of a network namespace, e.g. /var/run/docker/netns/1a2b3c4d5e6f')
  .refine((s) => !s.split('/').includes('..'), 'must not contain ".." components');

/** Docker's rule for volume names (`daemon/volume/local/local.go` `validNamePattern`), which dockerd does not apply to plugin drivers. */
export const VOLUME_NAME_RULE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** Longest volume name: one path component on Linux. */
export const MAX_VOLUME_NAME_LENGTH = 255;

/** A volume name by Docker's rule; the name is quoted in the message, shortened past 80 characters. */
export const volumeName = z.string().superRefine((name, ctx) => {
  const shown = JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name);
  if (name.length > MAX_VOLUME_NAME_LENGTH) {
    ctx.addIssue({ code: 'custom', message: `${shown} is ${name.length} characters long; at most ${MAX_VOLUME_NAME_LENGTH} are allowed` });
  } else if (!VOLUME_NAME_RULE.test(name)) {
    ctx.addIssue({ code: 'custom', message: `${shown} is not a valid volume name: expected at least two characters of [a-zA-Z0-9_.-] starting with a letter or digit, as Docker requires` });
  }
});

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
