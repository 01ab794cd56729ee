/**
 * @module What Docker knows is in use, for `tsnet ipam gc`: the subnets of every network and every
 * gateway, aux and container address, read with the docker CLI. Runs in the CLI process only, never
 * inside a plugin request (dockerd may be waiting on the plugin: plugin-protocol.md §1.6).
 */
import { CommandError, run } from '../common/kernel/exec.js';
import type { KnownUse } from './gc.js';

/** The parts of `docker network inspect` output gc reads. */
export interface InspectedNetwork {
  IPAM?: { Config?: Array<{ Subnet?: string; Gateway?: string; AuxiliaryAddresses?: Record<string, string> | null }> | null };
  Containers?: Record<string, { IPv4Address?: string; IPv6Address?: string }> | null;
}

/** Collects subnets and addresses (prefix lengths dropped) from inspected networks. Pure. */
export function knownUseOf(networks: readonly InspectedNetwork[]): KnownUse {
  const subnets: string[] = [];
  const addresses: string[] = [];
  for (const n of networks) {
    for (const c of n.IPAM?.Config ?? []) {
      if (c.Subnet) subnets.push(c.Subnet);
      if (c.Gateway) addresses.push(c.Gateway);
      addresses.push(...Object.values(c.AuxiliaryAddresses ?? {}));
    }
    for (const e of Object.values(n.Containers ?? {})) {
      for (const a of [e.IPv4Address, e.IPv6Address]) if (a) addresses.push(a.split('/')[0]!);
    }
  }
  return { subnets, addresses };
}

/**
 * Reads every network of the local dockerd with `docker network ls` and `docker network inspect`. A
 * network removed between the two fails the whole inspect; the networks are then inspected one by one,
 * skipping those that are gone (what they held is no longer in use).
 */
export async function readDockerUse(): Promise<KnownUse> {
  const list = await run(['docker', 'network', 'ls', '--quiet', '--no-trunc'], { object: 'docker networks', step: 'list' });
  const ids = list.stdout.split('\n').filter((s) => s !== '');
  if (ids.length === 0) return { subnets: [], addresses: [] };
  try {
    return knownUseOf(await inspect(ids));
  } catch (err) {
    if (!isGone(err)) throw err;
  }
  const networks: InspectedNetwork[] = [];
  for (const id of ids) {
    try {
      networks.push(...(await inspect([id])));
    } catch (err) {
      if (!isGone(err)) throw err;
    }
  }
  return knownUseOf(networks);
}

async function inspect(ids: readonly string[]): Promise<InspectedNetwork[]> {
  const { stdout } = await run(['docker', 'network', 'inspect', ...ids], { object: 'docker networks', step: 'inspect' });
  return JSON.parse(stdout) as InspectedNetwork[];
}

const isGone = (err: unknown) => err instanceof CommandError && /no such network/i.test(err.stderr);
