/**
 * @module What overlay mode keeps in etcd, and the only code of the mode that talks to it:
 *
 * - `/tsnet/v1/overlay/networks/<vni>`: the network's definition (port, subnets, gateways, internal,
 *   MTU). The first host to create the VNI writes it; every other host must ask for the same, or is
 *   refused with the differences named.
 * - `/tsnet/v1/overlay/members/<vni>/<hostId>`: the hosts that have the network (no lease: a host that
 *   dies still has it). The definition goes with the last member; joiners rewrite the definition in the
 *   same transaction, so a leaver's "am I the last?" check (a compare on its mod revision) cannot race.
 * - `/tsnet/v1/overlay/endpoints/<vni>/<hostId>/<endpointId>`: one per endpoint (VTEP, MAC, IPs) on the
 *   host's live lease, so a dead host's endpoints vanish from everyone within the lease TTL.
 * - `/tsnet/v1/overlay/keys/<vni>`: an encrypted network's key ring (encryption.ts); made with the
 *   definition, replaced by compare-and-swap when a host rekeys, gone with the definition. Readable by
 *   whoever can read etcd: protect etcd with TLS and client authentication (docs/encryption.md).
 */
import { ConflictError } from '../../../common/protocol/errors.js';
import { KEY_ROOT, type ClusterSession, type KeyValue, type Op } from '../../../common/cluster/types.js';
import type { KeyRing } from './encryption.js';

const NETWORKS = `${KEY_ROOT}overlay/networks/`;
const MEMBERS = `${KEY_ROOT}overlay/members/`;
/** Prefix of every key ring: watched as a whole. */
export const KEYS = `${KEY_ROOT}overlay/keys/`;
/** Prefix of every endpoint key: watched as a whole. */
export const ENDPOINTS = `${KEY_ROOT}overlay/endpoints/`;

/** What every host of an overlay must agree on. */
export interface NetworkDefinition {
  vni: number;
  port: number;
  /** IPv4 and IPv6 pools (CIDRs), sorted. */
  subnets: string[];
  /** Gateway CIDRs, sorted (the same on every host: each host's bridge answers for it locally). */
  gateways: string[];
  internal: boolean;
  /** Only when given with `-o mtu=`; hosts with different underlays otherwise derive their own. */
  mtu?: number;
  /** Only for encrypted networks (so definitions written before encryption existed still match). */
  encrypted?: { rekeySeconds: number; rekeyBytes: number };
}

/** An endpoint as published: where it lives and how to reach it. */
export interface PeerEndpoint {
  host: string;
  endpointId: string;
  /** The host's VTEP address. */
  vtep: string;
  mac: string;
  /** Plain addresses, absent when the endpoint has none of that family. */
  ip?: string;
  ip6?: string;
}

/** The differences between two definitions, as text for an error message. */
export function definitionDifferences(have: NetworkDefinition, want: NetworkDefinition): string[] {
  const fmt = (v: unknown) =>
    Array.isArray(v) ? (v.length === 0 ? 'none' : v.join(', ')) : v === undefined ? 'not set' : typeof v === 'object' && v !== null ? `on (${Object.entries(v).map(([k, x]) => `${k} ${x}`).join(', ')})` : String(v);
  const fields: Array<[keyof NetworkDefinition, string]> = [
    ['port', 'VXLAN port'],
    ['subnets', 'subnets'],
    ['gateways', 'gateways'],
    ['internal', 'internal'],
    ['mtu', 'mtu'],
    ['encrypted', 'encryption'],
  ];
  return fields.filter(([k]) => JSON.stringify(have[k]) !== JSON.stringify(want[k])).map(([k, label]) => `${label}: cluster has ${fmt(have[k])}, this host asked for ${fmt(want[k])}`);
}

export const endpointKey = (vni: number, host: string, endpointId: string) => `${ENDPOINTS}${vni}/${host}/${endpointId}`;

/** Reads an endpoint key and value; undefined for keys that are not endpoints. */
export function parseEndpoint(kv: Pick<KeyValue, 'key' | 'value'>): { vni: number; peer?: PeerEndpoint; host: string; endpointId: string } | undefined {
  const m = /^(\d+)\/([^/]+)\/([^/]+)$/.exec(kv.key.slice(ENDPOINTS.length));
  if (!kv.key.startsWith(ENDPOINTS) || !m) return undefined;
  const [, vni, host, endpointId] = m as unknown as [string, string, string, string];
  if (kv.value === '') return { vni: Number(vni), host, endpointId };
  try {
    const v = JSON.parse(kv.value) as Omit<PeerEndpoint, 'host' | 'endpointId'>;
    return { vni: Number(vni), host, endpointId, peer: { ...v, host, endpointId } };
  } catch {
    return undefined;
  }
}

/** The overlay's view of the cluster store, for one host. */
export class OverlayCluster {
  constructor(readonly session: ClusterSession) {}

  get hostId(): string {
    return this.session.hostId;
  }

  /**
   * Makes this host a member of the VNI's network, writing the definition if it is the first.
   * @throws ConflictError naming every difference when the cluster has the VNI with another definition.
   */
  async claimNetwork(def: NetworkDefinition, networkId: string): Promise<void> {
    const { client, hostId } = this.session;
    const defKey = `${NETWORKS}${def.vni}`;
    const member: Op = { put: { key: `${MEMBERS}${def.vni}/${hostId}`, value: JSON.stringify({ networkId }) } };
    const value = JSON.stringify(def);
    for (;;) {
      const have = await client.get(defKey);
      if (have) {
        const diff = definitionDifferences(JSON.parse(have.value) as NetworkDefinition, def);
        if (diff.length > 0) {
          throw new ConflictError(`overlay vni ${def.vni} exists in the cluster with other settings (${diff.join('; ')}); create it with the same settings on every host, or choose another vni`);
        }
      } else {
        await this.#checkPort(def);
      }
      const cmp = have
        ? [{ key: defKey, target: 'mod' as const, result: 'equal' as const, modRevision: have.modRevision }]
        : [{ key: defKey, target: 'create' as const, result: 'equal' as const, createRevision: 0 }];
      // Rewriting the definition bumps its revision, which a concurrent last leaver compares against.
      if ((await client.txn(cmp, [{ put: { key: defKey, value } }, member])).succeeded) return;
    }
  }

  /** Leaves the VNI's network; the last member removes the definition. */
  async releaseNetwork(vni: number): Promise<void> {
    const { client, hostId } = this.session;
    const defKey = `${NETWORKS}${vni}`;
    const mine = `${MEMBERS}${vni}/${hostId}`;
    for (;;) {
      const [def, members] = await Promise.all([client.get(defKey), client.range(`${MEMBERS}${vni}/`)]);
      const others = members.kvs.filter((kv) => kv.key !== mine);
      if (!def || others.length > 0) {
        await client.delete(mine);
        return;
      }
      const cmp = [{ key: defKey, target: 'mod' as const, result: 'equal' as const, modRevision: def.modRevision }];
      const ops: Op[] = [{ deleteRange: { key: defKey } }, { deleteRange: { key: `${MEMBERS}${vni}/`, prefix: true } }, { deleteRange: { key: `${KEYS}${vni}` } }];
      if ((await client.txn(cmp, ops)).succeeded) return;
    }
  }

  /**
   * An encrypted network's policies select its traffic by UDP port: refuses a new network whose port
   * another network of the cluster has when either is encrypted (the policies would take the other's
   * traffic, or leave this one's in clear).
   */
  async #checkPort(def: NetworkDefinition): Promise<void> {
    const { kvs } = await this.session.client.range(NETWORKS);
    for (const kv of kvs) {
      const other = JSON.parse(kv.value) as NetworkDefinition;
      if (other.vni === def.vni || other.port !== def.port || (!other.encrypted && !def.encrypted)) continue;
      throw new ConflictError(
        `overlay vni ${other.vni} (${other.encrypted ? 'encrypted' : 'not encrypted'}) already uses VXLAN port ${def.port} in the cluster; an encrypted overlay needs a port of its own: choose another -o vxlan_port`,
      );
    }
  }

  /** An encrypted network's key ring and its revision; undefined when there is none. */
  async readRing(vni: number): Promise<{ ring: KeyRing; modRevision: number } | undefined> {
    const kv = await this.session.client.get(`${KEYS}${vni}`);
    return kv && { ring: JSON.parse(kv.value) as KeyRing, modRevision: kv.modRevision };
  }

  /**
   * Writes a ring if the stored one is still at `modRevision` (0: there is none yet).
   * @returns whether it was written (false: another host wrote first; read again).
   */
  async swapRing(vni: number, ring: KeyRing, modRevision: number): Promise<boolean> {
    const key = `${KEYS}${vni}`;
    const cmp = modRevision === 0 ? { key, target: 'create' as const, result: 'equal' as const, createRevision: 0 } : { key, target: 'mod' as const, result: 'equal' as const, modRevision };
    return (await this.session.client.txn([cmp], [{ put: { key, value: JSON.stringify(ring) } }])).succeeded;
  }

  /** VNIs this host is recorded as a member of. */
  async memberships(): Promise<number[]> {
    const { kvs } = await this.session.client.range(MEMBERS);
    return kvs.flatMap((kv) => {
      const m = /^(\d+)\/([^/]+)$/.exec(kv.key.slice(MEMBERS.length));
      return m && m[2] === this.hostId ? [Number(m[1])] : [];
    });
  }

  /** Publishes (or re-publishes) one of this host's endpoints on the live lease. */
  async publish(vni: number, ep: Omit<PeerEndpoint, 'host'>): Promise<void> {
    const { endpointId, ...value } = ep;
    await this.session.client.put(endpointKey(vni, this.hostId, endpointId), JSON.stringify(value), { lease: this.session.liveLease() });
  }

  async withdraw(vni: number, endpointId: string): Promise<void> {
    await this.session.client.delete(endpointKey(vni, this.hostId, endpointId));
  }

  /** Every published endpoint, and the revision the read was made at. */
  async allEndpoints(): Promise<{ endpoints: Array<NonNullable<ReturnType<typeof parseEndpoint>>>; revision: number }> {
    const { kvs, revision } = await this.session.client.range(ENDPOINTS);
    return { endpoints: kvs.flatMap((kv) => parseEndpoint(kv) ?? []), revision };
  }

  /** The published endpoints of one VNI, and the revision the read was made at. */
  async endpointsOf(vni: number): Promise<{ peers: PeerEndpoint[]; revision: number }> {
    const { kvs, revision } = await this.session.client.range(`${ENDPOINTS}${vni}/`);
    return { peers: kvs.flatMap((kv) => parseEndpoint(kv)?.peer ?? []), revision };
  }
}
