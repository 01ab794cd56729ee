/**
 * @module Port publishing (ProgramExternalConnectivity / RevokeExternalConnectivity): reads Docker's
 * port bindings, picks host ports (ranges, ephemeral), refuses ports another endpoint or a host process
 * holds, and hands the mappings to the firewall as DNAT map elements. No process per port.
 */
import { parseIp } from '../../../common/addr/parse.js';
import { ConflictError, InvalidRequestError } from '../../../common/protocol/errors.js';
import type { EndpointRecord } from '../../records.js';
import type { BridgeContext } from './context.js';
import { endpointState, stateRecord, type BridgeEndpointState, type PublishedPort } from './endpoint-state.js';
import type { BridgeConfig, BridgeNetwork } from './options.js';
import type { PortHolder } from './port-table.js';
import { short } from '../shared/names.js';

/** Key of Docker's port bindings in Join's and ProgramExternalConnectivity's options. */
export const PORTMAP = 'com.docker.network.portmap';

/** Host ports Docker's port allocator hands out for `-p 80` (no host port). */
export const EPHEMERAL_PORTS = { first: 49153, last: 65535 } as const;

const PROTOCOLS: Record<number, PublishedPort['proto']> = { 6: 'tcp', 17: 'udp', 132: 'sctp' };

/** One `-p` binding as Docker sends it (`types.PortBinding`); `hostIp` `''` means "not given". */
export interface PortRequest {
  proto: PublishedPort['proto'];
  containerPort: number;
  hostIp: string;
  /** 0 (with `hostPortEnd` 0): any free port. */
  hostPort: number;
  hostPortEnd: number;
}


function port(value: unknown, what: string, allowZero: boolean): number {
  const n = value ?? 0;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < (allowZero ? 0 : 1) || n > 65535) {
    throw new InvalidRequestError(`${PORTMAP}: ${what} must be a port number, got ${JSON.stringify(value)}`);
  }
  return n;
}

/**
 * The port bindings in `options` (empty when there are none). Pure.
 * @throws InvalidRequestError for a malformed binding.
 */
export function readPortBindings(options: Record<string, unknown>): PortRequest[] {
  const raw = options[PORTMAP];
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new InvalidRequestError(`${PORTMAP} must be a list of port bindings`);
  return raw.map((x: unknown) => {
    if (x === null || typeof x !== 'object') throw new InvalidRequestError(`${PORTMAP}: binding ${JSON.stringify(x)} is not an object`);
    const b = x as Record<string, unknown>;
    const proto = PROTOCOLS[b['Proto'] as number];
    if (!proto) throw new InvalidRequestError(`${PORTMAP}: protocol ${JSON.stringify(b['Proto'])} is not tcp (6), udp (17) or sctp (132)`);
    const hostIp = b['HostIP'] ?? '';
    if (typeof hostIp !== 'string' || (hostIp !== '' && !parseIp(hostIp))) throw new InvalidRequestError(`${PORTMAP}: HostIP ${JSON.stringify(hostIp)} is not an IP address`);
    const hostPort = port(b['HostPort'], 'HostPort', true);
    const hostPortEnd = Math.max(hostPort, port(b['HostPortEnd'], 'HostPortEnd', true));
    return { proto, containerPort: port(b['Port'], 'Port', false), hostIp, hostPort, hostPortEnd };
  });
}

/** How a binding's host address turns into (family, address) pairs, given the container's addresses. */
function hostAddresses(req: PortRequest, cfg: BridgeConfig, ep: EndpointRecord): { family: 4 | 6; hostIp: string; containerIp: string }[] {
  const ctr = { 4: ep.address, 6: ep.addressIpv6 } as const;
  const ctrIp = (family: 4 | 6) => ctr[family].split('/')[0]!;
  const given = req.hostIp || cfg.hostBindingIp || '';
  if (given === '') return ([4, 6] as const).filter((f) => ctr[f] !== '').map((family) => ({ family, hostIp: '', containerIp: ctrIp(family) }));
  const ip = parseIp(given)!;
  if (ctr[ip.family] === '') {
    throw new InvalidRequestError(`cannot publish port ${req.containerPort}/${req.proto} on ${given}: the container has no IPv${ip.family} address on this network`);
  }
  const any = given === '0.0.0.0' || given === '::';
  return [{ family: ip.family, hostIp: any ? '' : given, containerIp: ctrIp(ip.family) }];
}

const binding = (p: { family: 4 | 6; hostIp: string; hostPort: number; proto: string }) =>
  `${p.hostIp || (p.family === 4 ? '0.0.0.0' : '[::]')}:${p.hostPort}/${p.proto}`;

/**
 * Picks a host port for each binding and reserves it in the context's table. Tries each port of the
 * binding's range (or the ephemeral range) in turn; a port another endpoint holds or a host process
 * listens on is skipped. On any failure every reservation made here is released.
 * @throws ConflictError naming who holds the port (or that none in the range is free).
 */
export async function allocatePorts(ctx: BridgeContext, cfg: BridgeConfig, ep: EndpointRecord, reqs: readonly PortRequest[]): Promise<PublishedPort[]> {
  const holder: PortHolder = { networkId: ep.networkId, endpointId: ep.id };
  const taken: PublishedPort[] = [];
  try {
    for (const req of reqs) taken.push(...(await allocateOne(ctx, cfg, ep, holder, req)));
    return taken;
  } catch (err) {
    for (const p of taken) ctx.ports.release(p, ep.id);
    throw err;
  }
}

/**
 * Reserves all of `candidates` (one host port, on each address family) and checks the host does not
 * use them. Returns undefined when they are ours, else why not (with nothing left reserved).
 */
async function tryCandidates(ctx: BridgeContext, holder: PortHolder, candidates: readonly PublishedPort[]): Promise<string | undefined> {
  const reserved: PublishedPort[] = [];
  const release = () => reserved.forEach((r) => ctx.ports.release(r, holder.endpointId));
  for (const c of candidates) {
    const clash = ctx.ports.reserve(c, holder);
    if (clash) {
      release();
      return `host port ${binding(c)} is already published by network ${short(clash.networkId)} (endpoint ${short(clash.endpointId)})`;
    }
    reserved.push(c);
  }
  for (const c of candidates) {
    const probe = await ctx.kernel.probePort(c);
    if (probe === 'free') continue;
    release();
    if (probe === 'no-address') throw new InvalidRequestError(`cannot publish on ${c.hostIp}: it is not an address of this host`);
    return `host port ${binding(c)} is in use by a process on the host`;
  }
  return undefined;
}

async function allocateOne(ctx: BridgeContext, cfg: BridgeConfig, ep: EndpointRecord, holder: PortHolder, req: PortRequest): Promise<PublishedPort[]> {
  const addrs = hostAddresses(req, cfg, ep);
  const [first, last] = req.hostPort === 0 ? [EPHEMERAL_PORTS.first, EPHEMERAL_PORTS.last] : [req.hostPort, req.hostPortEnd];
  let why = '';
  for (let hostPort = first; hostPort <= last; hostPort++) {
    const candidates = addrs.map((a) => ({ ...a, proto: req.proto, hostPort, containerPort: req.containerPort }));
    const refused = await tryCandidates(ctx, holder, candidates);
    if (refused === undefined) return candidates;
    why = refused;
  }
  const range = first === last ? '' : ` (no free port in ${first}-${last})`;
  throw new ConflictError(`cannot publish port ${req.containerPort}/${req.proto}: ${why}${range}`);
}

/**
 * ProgramExternalConnectivity: publishes the endpoint's bindings. Idempotent: an endpoint that already
 * has ports gets the same ones again.
 * @throws InvalidRequestError on an internal network (it has no route out); ConflictError as {@link allocatePorts}.
 */
export async function programPorts(ctx: BridgeContext, net: BridgeNetwork, ep: EndpointRecord, options: Record<string, unknown>): Promise<BridgeEndpointState> {
  const state = endpointState(ep);
  if (state.ports) {
    await ctx.firewall.publish(state.ports);
    return state;
  }
  const cfg = net.config.bridge;
  const reqs = readPortBindings(options);
  if (reqs.length === 0) return state;
  if (cfg.internal) throw internalPortsError(net);
  const ports = await allocatePorts(ctx, cfg, ep, reqs);
  try {
    await ctx.firewall.publish(ports);
  } catch (err) {
    for (const p of ports) ctx.ports.release(p, ep.id);
    throw err;
  }
  return { ...state, ports };
}

/** RevokeExternalConnectivity (and DeleteEndpoint): unpublishes the endpoint's ports. Idempotent. */
export async function revokePorts(ctx: BridgeContext, ep: EndpointRecord): Promise<BridgeEndpointState> {
  const { ports, ...rest } = endpointState(ep);
  if (ports) {
    await ctx.firewall.unpublish(ports);
    for (const p of ports) ctx.ports.release(p, ep.id);
  }
  return rest;
}

/** The mode's ProgramExternalConnectivity/RevokeExternalConnectivity, for bridge-mode.ts. */
export const portPhase = {
  program: async (ctx: BridgeContext, net: BridgeNetwork, ep: EndpointRecord, options: Record<string, unknown>) => ({
    state: stateRecord(await programPorts(ctx, net, ep, options)),
  }),
  revoke: async (ctx: BridgeContext, ep: EndpointRecord) => ({ state: stateRecord(await revokePorts(ctx, ep)) }),
};

/** The refusal of `-p` on an internal network (Join and ProgramExternalConnectivity both give it). */
export function internalPortsError(net: BridgeNetwork): InvalidRequestError {
  return new InvalidRequestError(
    `network ${short(net.id)} is internal (no route in or out), so ports cannot be published on it: remove -p, or use a network without --internal`,
  );
}
