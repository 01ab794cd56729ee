/**
 * @module The name service's fixed places, kept apart so that parsing serve's flags and engine-lite's
 * resolv.conf load nothing else of it.
 */

/** Where containers find the responder unless `--dns-addr` says otherwise (link-local: reached through the default route, never routed off the host). */
export const DEFAULT_DNS_ADDR = '169.254.53.53';
/** The link (an empty bridge) that carries the responder's address when no link of the host has it. */
export const DNS_LINK = 'tsdns0';
