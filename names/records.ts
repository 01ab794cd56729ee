/**
 * @module What the name service knows: one {@link NameEntry} per endpoint (the names a container is
 * known by on one network, and its addresses there), grouped by *scope*, the unit names never leave:
 * a single-host network is its own scope (`net:<network ID>`), an overlay is one scope on every host
 * (`vni:<VNI>`, since each host's dockerd gives the same overlay its own network ID). Also the check
 * that a name can be served as DNS labels.
 */

/** The names one container has on one network, and its addresses there. */
export interface NameEntry {
  /** Lower-case, valid names: container name, aliases, short ID (12 hex). */
  names: string[];
  /** Plain addresses (no prefix length). */
  ipv4?: string;
  ipv6?: string;
  endpointId: string;
  containerId: string;
  /** The cluster host ID it lives on; `local` on a single host. */
  host: string;
}

/** The scope of a network: overlays share theirs across hosts by VNI. */
export function scopeOf(network: { ID: string; Mode: string; Options: Record<string, string> }): string {
  const vni = network.Options.vni;
  return network.Mode === 'overlay' && vni !== undefined ? `vni:${vni}` : `net:${network.ID}`;
}

/** The VNI of an overlay scope, undefined for a single-host one. */
export function vniOfScope(scope: string): number | undefined {
  return scope.startsWith('vni:') ? Number(scope.slice(4)) : undefined;
}

/** One label: letters, digits, `-` and `_` (compose names), not starting or ending with `-`, ≤ 63 bytes. */
const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

/**
 * The name as served (lower case, no trailing dot), or undefined when it is not a DNS name: a label
 * is letters, digits, `-`, `_`, at most 63 characters, not starting or ending with `-`; a name (labels
 * joined by `.`) is at most 253 characters.
 */
export function dnsName(name: string): string | undefined {
  const n = name.toLowerCase().replace(/\.$/, '');
  if (n === '' || n.length > 253) return undefined;
  return n.split('.').every((l) => LABEL.test(l)) ? n : undefined;
}

/** A plain address from a CIDR or address (`10.0.0.2/24` → `10.0.0.2`); undefined for "". */
export function plainAddress(cidr: string | undefined): string | undefined {
  if (cidr === undefined || cidr === '') return undefined;
  return cidr.split('/')[0];
}
