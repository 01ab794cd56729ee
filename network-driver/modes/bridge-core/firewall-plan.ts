/**
 * @module Bridge mode's firewall as data: the nftables scripts (lists of commands) for the shared part,
 * for one network and for published ports, and the one iptables chain that lets our traffic past a
 * FORWARD policy of DROP. Pure; firewall.ts applies them.
 *
 * Design (docs/tsnet.md "Firewall"): one `inet` table per plugin instance. Networks and ports are ELEMENTS of
 * sets and maps, never rules or chains, so adding network N+1 or port N+1 is one small transaction whose
 * cost does not depend on N (nft re-reads chains, not elements, before each commit), and each packet
 * costs a few hash lookups however many networks exist.
 *
 *   forward (filter, priority -1)      oif ∈ @bridges → to_bridge;  iif ∈ @bridges → from_bridge
 *   to_bridge    established | DNAT (published port) | (iif . oif) ∈ @icc → accept;  else drop
 *   from_bridge  iif ∈ @internal → drop; oif is a Docker bridge (docker0, br-*) → drop; else accept
 *   "accept" sets {@link ACCEPT_MARK}; TSNET-BR-<tag>, jumped to first from iptables FORWARD, accepts
 *   marked packets, because a drop policy in Docker's iptables FORWARD would otherwise still drop them.
 *   prerouting/output (nat)  destination is local → publish: DNAT by map (proto . port, or addr . proto . port)
 *   postrouting (nat)  masquerade: outbound from @masq bridges; published-port traffic that came from one
 *   of our bridges (hairpin, {@link HAIRPIN_MARK}) or from 127.0.0.0/8 (needs route_localnet).
 */
import type { ChainSpec, JumpSpec } from '../../../common/kernel/firewall.js';

/** Packet mark bit meaning "tsnet accepts this forwarded packet"; read by the iptables hand-off chain. */
export const ACCEPT_MARK = 0x01000000;
/** Packet mark bit set on packets from our bridges to a local address, so a DNAT back into a bridge is masqueraded. */
export const HAIRPIN_MARK = 0x02000000;

const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;

/** Names of one plugin instance's firewall objects. */
export interface FirewallNames {
  /** nftables `inet` table, `tsnet-<tag>`. */
  table: string;
  /** iptables filter chain jumped to from FORWARD, `TSNET-BR-<tag>`. */
  handoffChain: string;
}

/** The names for an instance tag (6 hex digits, see bridge-mode.ts `instanceTag`). */
export function firewallNames(tag: string): FirewallNames {
  return { table: `tsnet-${tag}`, handoffChain: `TSNET-BR-${tag}` };
}

/** What the firewall needs to know about a network. */
export interface NetworkFirewall {
  bridge: string;
  icc: boolean;
  internal: boolean;
  masquerade: boolean;
}

/** A port mapping as the firewall programs it. `hostIp` `''`: every local address of the family. */
export interface PortRule {
  family: 4 | 6;
  proto: 'tcp' | 'udp' | 'sctp';
  hostIp: string;
  hostPort: number;
  containerIp: string;
  containerPort: number;
}

/** Quotes an interface name for nft (names are validated to `[A-Za-z0-9_.-]` before they get here). */
const q = (ifname: string) => `"${ifname}"`;

/** The shared part: table, sets, maps, chains and their rules. Idempotent (rules are flushed and re-added). */
export function baseScript(n: FirewallNames): string[] {
  const t = `inet ${n.table}`;
  const accept = `meta mark set meta mark | ${hex(ACCEPT_MARK)} accept`;
  const chains: [string, string | undefined, string[]][] = [
    ['forward', 'type filter hook forward priority -1; policy accept;', ['oifname @bridges jump to_bridge', 'iifname @bridges jump from_bridge']],
    ['to_bridge', undefined, [`ct state established,related ${accept}`, `ct status dnat ${accept}`, `iifname . oifname @icc ${accept}`, 'drop']],
    ['from_bridge', undefined, ['iifname @internal drop', 'oifname "docker0" drop', 'oifname "br-*" drop', accept]],
    // route_localnet lets 127.0.0.1 be routed to a bridge; never let a packet *to* 127/8 in from one.
    ['raw_prerouting', 'type filter hook prerouting priority -300; policy accept;', ['iifname @bridges ip daddr 127.0.0.0/8 drop']],
    ['prerouting', 'type nat hook prerouting priority -100; policy accept;', ['ip daddr 127.0.0.0/8 return', 'fib daddr type local jump publish']],
    ['output', 'type nat hook output priority -100; policy accept;', ['fib daddr type local jump publish']],
    [
      'publish',
      undefined,
      [
        `iifname @bridges meta mark set meta mark | ${hex(HAIRPIN_MARK)}`,
        'dnat ip to ip daddr . meta l4proto . th dport map @pub4_ip',
        'dnat ip to meta l4proto . th dport map @pub4_any',
        'dnat ip6 to ip6 daddr . meta l4proto . th dport map @pub6_ip',
        'dnat ip6 to meta l4proto . th dport map @pub6_any',
      ],
    ],
    [
      'postrouting',
      'type nat hook postrouting priority 100; policy accept;',
      [
        `ct status dnat meta mark & ${hex(HAIRPIN_MARK)} == ${hex(HAIRPIN_MARK)} masquerade`,
        'ct status dnat ip saddr 127.0.0.0/8 oifname @bridges masquerade',
        'iifname @masq oifname != @bridges masquerade',
      ],
    ],
  ];
  const sets: ['set' | 'map', string, string][] = [
    ['set', 'bridges', 'type ifname;'],
    ['set', 'internal', 'type ifname;'],
    ['set', 'masq', 'type ifname;'],
    ['set', 'icc', 'type ifname . ifname;'],
    ['map', 'pub4_any', 'type inet_proto . inet_service : ipv4_addr . inet_service;'],
    ['map', 'pub4_ip', 'type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service;'],
    ['map', 'pub6_any', 'type inet_proto . inet_service : ipv6_addr . inet_service;'],
    ['map', 'pub6_ip', 'type ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service;'],
  ];
  return [
    `add table ${t}`,
    ...sets.map(([kind, name, type]) => `add ${kind} ${t} ${name} { ${type} }`),
    ...chains.map(([name, hook]) => `add chain ${t} ${name}${hook ? ` { ${hook} }` : ''}`),
    ...chains.flatMap(([name, , rules]) => [`flush chain ${t} ${name}`, ...rules.map((r) => `add rule ${t} ${name} ${r}`)]),
  ];
}

/** Every (set, element) pair a network with this bridge can have. */
function everyNetworkElement(bridge: string): [set: string, element: string][] {
  const b = q(bridge);
  return [
    ['bridges', b],
    ['internal', b],
    ['icc', `${b} . ${b}`],
    ['masq', b],
  ];
}

/** The (set, element) pairs that describe one network. */
function networkElements(net: NetworkFirewall): [set: string, element: string][] {
  const member: Record<string, boolean> = { bridges: true, internal: net.internal, icc: net.icc, masq: net.masquerade && !net.internal };
  return everyNetworkElement(net.bridge).filter(([set]) => member[set]);
}

/** Adds one network. Idempotent. */
export function addNetworkScript(n: FirewallNames, net: NetworkFirewall): string[] {
  return networkElements(net).map(([set, el]) => `add element inet ${n.table} ${set} { ${el} }`);
}

/** Removes one network, whatever of it exists: every possible element is added, then deleted. Idempotent. */
export function removeNetworkScript(n: FirewallNames, bridge: string): string[] {
  return everyNetworkElement(bridge).flatMap(([set, el]) => [`add element inet ${n.table} ${set} { ${el} }`, `delete element inet ${n.table} ${set} { ${el} }`]);
}

/** The map and key of a port rule, and the element with its value. */
function portElement(p: PortRule): { map: string; key: string; element: string } {
  const any = p.hostIp === '';
  const map = `pub${p.family}_${any ? 'any' : 'ip'}`;
  const key = any ? `${p.proto} . ${p.hostPort}` : `${p.hostIp} . ${p.proto} . ${p.hostPort}`;
  return { map, key, element: `${key} : ${p.containerIp} . ${p.containerPort}` };
}

/**
 * Every (set or map, element) pair the table holds for these networks and ports, elements written as
 * nft lists them (interface names unquoted): what `tsnet doctor` compares the table with.
 */
export function expectedElements(nets: readonly NetworkFirewall[], ports: readonly PortRule[]): [set: string, element: string][] {
  return [
    ...nets.flatMap((net) => networkElements(net).map(([set, el]): [string, string] => [set, el.replaceAll('"', '')])),
    ...ports.map((p): [string, string] => {
      const { map, element } = portElement(p);
      return [map, element];
    }),
  ];
}

/** Publishes ports. Idempotent for the same mappings; fails (nothing applied) if a key maps elsewhere. */
export function addPortsScript(n: FirewallNames, ports: readonly PortRule[]): string[] {
  return ports.map((p) => {
    const { map, element } = portElement(p);
    return `add element inet ${n.table} ${map} { ${element} }`;
  });
}

/** Unpublishes ports; missing ones count as removed. */
export function removePortsScript(n: FirewallNames, ports: readonly PortRule[]): string[] {
  return ports.flatMap((p) => {
    const { map, key, element } = portElement(p);
    return [`add element inet ${n.table} ${map} { ${element} }`, `delete element inet ${n.table} ${map} { ${key} }`];
  });
}

/** Removes the whole table, whether or not it exists. */
export function deleteTableScript(n: FirewallNames): string[] {
  return [`add table inet ${n.table}`, `delete table inet ${n.table}`];
}

/** Replaces the whole table with exactly these networks and ports, in one transaction (used by restore). */
export function rebuildScript(n: FirewallNames, nets: readonly NetworkFirewall[], ports: readonly PortRule[]): string[] {
  return [...deleteTableScript(n), ...baseScript(n), ...nets.flatMap((net) => addNetworkScript(n, net)), ...addPortsScript(n, ports)];
}

/** The iptables chain that accepts what our nftables table marked, and the jump to it from FORWARD. */
export function handoff(n: FirewallNames): { chain: ChainSpec; jump: JumpSpec } {
  const mark = `${hex(ACCEPT_MARK)}/${hex(ACCEPT_MARK)}`;
  return {
    chain: { table: 'filter', name: n.handoffChain, rules: [['-m', 'mark', '--mark', mark, '-j', 'ACCEPT']] },
    jump: { table: 'filter', from: 'FORWARD', to: n.handoffChain, position: 'first' },
  };
}
