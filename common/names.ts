/**
 * @module The one registry of the name prefixes the suite's kernel objects carry. Every link,
 * namespace and nft table the plugins make starts with {@link SUITE_PREFIX}, and each kind has its
 * own prefix below; the modes, the firewall code and the test suite's leak check take them from here.
 */

/** Start of every kernel object name of the suite (links, network namespaces, nft tables; lower-case). */
export const SUITE_PREFIX = 'ts';

/** Prefixes of the links the network driver makes, each followed by part of a network or endpoint ID. */
export const LINK_PREFIXES = {
  /** A network's Linux bridge (bridge mode, and overlay's bridge on each host). */
  bridge: 'tsbr-',
  /** The host end of an endpoint's veth pair. */
  hostVeth: 'tsv',
  /** The container end of an endpoint's veth pair, until dockerd renames it. */
  peerVeth: 'tsc',
  /** An overlay network's VXLAN device. */
  vxlan: 'tsvx-',
  /** Macvlan links: endpoints, and with `h`/`l` after it, host-access and VLAN sub-interfaces. */
  macvlan: 'tsmv',
} as const;

/** iptables chains of the suite (upper-case, as iptables chains are by custom). */
export const CHAIN_PREFIX = 'TSNET-';

/** nft tables of the suite. */
export const NFT_TABLE_PREFIX = 'tsnet';
