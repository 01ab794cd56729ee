/**
 * @module A container's endpoint on a network, the daemon side, in libnetwork's order
 * (docs/plugin-protocol.md §2.6–2.10). Attach: IPAM RequestAddress (IPv4, then IPv6) → CreateEndpoint →
 * Join → move the interface in and configure it → ProgramExternalConnectivity if the endpoint
 * becomes the gateway endpoint. Detach, the reverse: Revoke → Leave (interface still inside) →
 * move it back → DeleteEndpoint → ReleaseAddress. Progress is recorded before each call that
 * leaves something to undo, so a detach after a crash undoes exactly that.
 */
import { randomBytes } from 'node:crypto';
import type { IpamResponses } from '../../common/protocol/ipam-api.js';
import type { JoinResponse, NetworkResponses } from '../../common/protocol/network-api.js';
import type { Engine } from '../engine.js';
import { PluginFailedError } from '../errors.js';
import type { AttachmentRecord, ContainerRecord, NetworkRecord } from '../state/records.js';
import { ipOf } from './pools.js';
import { plugInterface, setDefaultRoutes, unplugInterface } from './sandbox-links.js';

/** Where an endpoint lives and how to save progress. */
export interface EndpointContext {
  engine: Engine;
  container: ContainerRecord;
  /** Name of the container's network namespace under /run/netns. */
  netns: string;
  sandboxKey: string;
  persist(): Promise<void>;
}

const PORTMAP = 'com.docker.network.portmap';
const EXPOSED = 'com.docker.network.endpoint.exposedports';
const MAC_OPTION = 'com.docker.network.endpoint.macaddress';

/** Sandbox options (Join, ProgramExternalConnectivity): the port shapes, `[]` when there are none. */
const sandboxOptions = (c: ContainerRecord) => ({ [PORTMAP]: c.host.portBindings, [EXPOSED]: c.host.exposedPorts });

/** A random locally administered MAC in docker's 02:42 range. */
function randomMac(): string {
  return ['02', '42', ...[...randomBytes(4)].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

/** `02:42:0a:14:00:05` → base64 of the six bytes, as Go encodes a net.HardwareAddr. */
export function macToBase64(mac: string): string {
  return Buffer.from(mac.split(':').map((h) => parseInt(h, 16))).toString('base64');
}

/** `DstPrefix` + the lowest index no other interface of the container uses. */
function nextIfname(c: ContainerRecord, prefix: string): string {
  const used = new Set(c.attachments.map((a) => a.ifname));
  for (let i = 0; ; i++) if (!used.has(`${prefix}${i}`)) return `${prefix}${i}`;
}

/** Whether an attached endpoint can carry the container's default route (§2.8 step 4). */
function canBeGateway(a: AttachmentRecord, net: NetworkRecord): boolean {
  return !net.internal && a.joined === true && a.ifname !== undefined && (Boolean(a.gateway) || Boolean(a.gatewayIPv6));
}

async function clients(engine: Engine, net: NetworkRecord) {
  return { driver: await engine.plugins.get(net.driver, 'NetworkDriver'), ipam: await engine.plugins.get(net.ipam.driver, 'IpamDriver') };
}

/**
 * Records `flag` (so teardown undoes the call) before `call` is sent. If the plugin answers with an
 * error it did nothing, and the flag is cleared again: dockerd sends no DeleteEndpoint after a
 * refused CreateEndpoint, nor Leave after a refused Join. After a timeout it stays set.
 */
async function sent<T>(ctx: EndpointContext, a: AttachmentRecord, flag: 'endpointCreated' | 'joined', call: () => Promise<T>): Promise<T> {
  a[flag] = true;
  await ctx.persist();
  try {
    return await call();
  } catch (err) {
    if (err instanceof PluginFailedError && err.refused) {
      a[flag] = false;
      await ctx.persist();
    }
    throw err;
  }
}

/** Takes the endpoint's addresses from IPAM: IPv4, then IPv6. */
async function requestAddresses(ctx: EndpointContext, a: AttachmentRecord, net: NetworkRecord, ipamOptions: Record<string, string>): Promise<void> {
  const { ipam } = await clients(ctx.engine, net);
  for (const v6 of [false, true]) {
    const pool = net.pools.find((p) => p.v6 === v6);
    if (!pool) continue;
    const r = await ipam.call<IpamResponses['RequestAddress']>('IpamDriver.RequestAddress', {
      PoolID: pool.poolId,
      Address: v6 ? a.ipv6Requested : a.ipv4Requested,
      Options: ipamOptions,
    });
    if (!r.Address) throw new PluginFailedError(net.ipam.driver, 'RequestAddress: no address returned');
    if (v6) a.ipv6 = r.Address;
    else a.ipv4 = r.Address;
    await ctx.persist();
  }
}

/** CreateEndpoint; the driver may fill only the fields that were empty (§2.6). */
async function createEndpoint(ctx: EndpointContext, a: AttachmentRecord, net: NetworkRecord): Promise<void> {
  const { driver } = await clients(ctx.engine, net);
  const c = ctx.container;
  const options: Record<string, unknown> = { ...a.driverOpts };
  if (a.macRequested) options[MAC_OPTION] = macToBase64(a.macRequested);
  if (!net.internal) Object.assign(options, sandboxOptions(c));
  if (!net.internal && c.host.dns.length > 0) options['com.docker.network.endpoint.dnsservers'] = c.host.dns;
  const iface = { Address: a.ipv4 ?? '', AddressIPv6: a.ipv6 ?? '', MacAddress: a.mac ?? '' };
  const r = await sent(ctx, a, 'endpointCreated', () =>
    driver.call<NetworkResponses['CreateEndpoint']>('NetworkDriver.CreateEndpoint', { NetworkID: net.id, EndpointID: a.endpointId, Interface: iface, Options: options }),
  );
  for (const [key, value] of Object.entries(r.Interface ?? {})) {
    if (!value) continue;
    if (iface[key as keyof typeof iface] !== '') throw new PluginFailedError(net.driver, `CreateEndpoint: driver modified interface ${key}`);
    if (key === 'MacAddress') a.mac = value;
    else throw new PluginFailedError(net.driver, `CreateEndpoint: engine-lite does not accept an ${key} chosen by the driver`);
  }
  await ctx.persist();
}

/** Join, then what the daemon does with the answer inside the sandbox. */
async function join(ctx: EndpointContext, a: AttachmentRecord, net: NetworkRecord): Promise<void> {
  const { driver } = await clients(ctx.engine, net);
  const r = await sent(ctx, a, 'joined', () =>
    driver.call<JoinResponse>('NetworkDriver.Join', { NetworkID: net.id, EndpointID: a.endpointId, SandboxKey: ctx.sandboxKey, Options: sandboxOptions(ctx.container) }),
  );
  a.gateway = r.Gateway || undefined;
  a.gatewayIPv6 = (a.ipv6 && r.GatewayIPv6) || undefined; // dropped without an IPv6 address (§2.8 step 4)
  const src = r.InterfaceName?.SrcName ?? '';
  if (src === '') {
    await ctx.persist();
    return; // the driver wants no interface (tsnet mode none)
  }
  a.srcName = src;
  a.ifname = nextIfname(ctx.container, r.InterfaceName.DstPrefix || 'eth');
  await ctx.persist();
  await plugInterface(ctx.netns, {
    srcName: src,
    ifname: a.ifname,
    ...(a.mac ? { mac: a.mac } : {}),
    addresses: [a.ipv4, a.ipv6].filter((x): x is string => Boolean(x)),
    routes: r.StaticRoutes ?? [],
  });
}

/**
 * Makes the first attachment that can carry a default route the container's gateway endpoint,
 * unless one already is: default routes, then ProgramExternalConnectivity (404 is fine).
 */
export async function ensureGatewayEndpoint(ctx: EndpointContext, networks: ReadonlyMap<string, NetworkRecord>): Promise<void> {
  const atts = ctx.container.attachments;
  if (atts.some((a) => a.isGateway)) return;
  const a = atts.find((x) => {
    const n = networks.get(x.networkId);
    return n !== undefined && canBeGateway(x, n);
  });
  if (!a) return;
  const net = networks.get(a.networkId)!;
  await setDefaultRoutes(ctx.netns, a.ifname!, { ...(a.gateway ? { v4: a.gateway } : {}), ...(a.gatewayIPv6 ? { v6: a.gatewayIPv6 } : {}) });
  a.isGateway = true;
  await ctx.persist();
  const { driver } = await clients(ctx.engine, net);
  await driver.callOptional('NetworkDriver.ProgramExternalConnectivity', { NetworkID: net.id, EndpointID: a.endpointId, Options: sandboxOptions(ctx.container) });
}

/**
 * Sets up attachment `a` (already in `ctx.container.attachments`) on `net`.
 * @throws PluginFailedError or KernelError; the attachment's progress is recorded for
 * {@link detachEndpoint}, which the caller runs to undo it.
 */
export async function attachEndpoint(ctx: EndpointContext, a: AttachmentRecord, net: NetworkRecord): Promise<void> {
  const { ipam } = await clients(ctx.engine, net);
  if (!a.mac) a.mac = a.macRequested || (ipam.ipamCaps?.RequiresMACAddress ? randomMac() : '');
  const ipamOptions: Record<string, string> = { 'com.docker.network.endpoint.name': ctx.container.name };
  if (ipam.ipamCaps?.RequiresMACAddress) ipamOptions[MAC_OPTION] = a.mac;
  await requestAddresses(ctx, a, net, ipamOptions);
  await createEndpoint(ctx, a, net);
  await join(ctx, a, net);
}

/**
 * Undoes attachment `a` as far as its record says it got. Failing plugin calls are reported as
 * warnings and the teardown goes on (dockerd logs them too). Idempotent.
 */
export async function detachEndpoint(ctx: EndpointContext, a: AttachmentRecord, net: NetworkRecord | undefined): Promise<void> {
  const warn = (err: unknown) => ctx.engine.warn(`endpoint ${a.endpointId.slice(0, 12)}: ${(err as Error).message}`);
  const step = async (fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (err) {
      warn(err);
    }
  };
  if (!net) {
    warn(new Error(`network ${a.networkId.slice(0, 12)} no longer exists; its plugin-side endpoint cannot be removed`));
  } else {
    const ref = { NetworkID: net.id, EndpointID: a.endpointId };
    if (a.isGateway) await step(async () => (await clients(ctx.engine, net)).driver.callOptional('NetworkDriver.RevokeExternalConnectivity', ref));
    a.isGateway = false;
    if (a.joined) await step(async () => (await clients(ctx.engine, net)).driver.call('NetworkDriver.Leave', ref));
    if (a.ifname && a.srcName) await step(() => unplugInterface(ctx.netns, a.ifname!, a.srcName!));
    a.joined = false;
    if (a.endpointCreated) await step(async () => (await clients(ctx.engine, net)).driver.call('NetworkDriver.DeleteEndpoint', ref));
    a.endpointCreated = false;
    for (const v6 of [false, true]) {
      const address = v6 ? a.ipv6 : a.ipv4;
      const pool = net.pools.find((p) => p.v6 === v6);
      if (address && pool) await step(async () => (await clients(ctx.engine, net)).ipam.call('IpamDriver.ReleaseAddress', { PoolID: pool.poolId, Address: ipOf(address) }));
    }
  }
  for (const k of ['ipv4', 'ipv6', 'srcName', 'ifname', 'gateway', 'gatewayIPv6'] as const) delete a[k];
  a.joined = a.endpointCreated = a.isGateway = false;
  if (!a.macRequested) delete a.mac;
  await ctx.persist();
}
