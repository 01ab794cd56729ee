/**
 * @module `network connect` and `disconnect`. For a running container the endpoint is set up or
 * torn down at once, in the same order as at start and stop, and the container's /etc/hosts is
 * rewritten; a container started without networks gets its network namespace named first
 * (`ip netns attach`) so the plugins have a SandboxKey. For a stopped container only the record
 * changes. The owner (run or supervisor) may write the record meanwhile, so progress is merged
 * into the stored record rather than overwriting it.
 */
import { attachNetns } from '../../common/kernel/container-process.js';
import { netnsPath } from '../../common/kernel/netns.js';
import { isRunning } from '../container/status.js';
import { writeEtcFiles } from '../container/etc-files.js';
import { containerDns } from './name-service.js';
import { netnsName } from '../container/start.js';
import type { Engine } from '../engine.js';
import { EngineConflictError, InvalidArgumentError, EngineNotFoundError } from '../errors.js';
import { newId } from '../ids.js';
import type { AttachmentRecord, ContainerRecord, NetworkRecord } from '../state/records.js';
import { attachEndpoint, detachEndpoint, ensureGatewayEndpoint, type EndpointContext } from './endpoints.js';
import { isBuiltin } from './networks.js';

/** `network connect` flags. */
export interface ConnectRequest {
  ip?: string;
  ip6?: string;
  aliases: string[];
  driverOpts: Record<string, string>;
}

/**
 * A persist function that stores `c`'s attachments into the stored record (matched by endpoint
 * ID), drops those in `dropped`, and records `c`'s netns.
 */
function mergeInto(engine: Engine, c: ContainerRecord, dropped: ReadonlySet<string>) {
  return async () => {
    await engine.state.update(engine.state.containers, c.id, (r) => {
      for (const a of c.attachments) {
        const i = r.attachments.findIndex((x) => x.endpointId === a.endpointId);
        if (i >= 0) r.attachments[i] = a;
        else r.attachments.push(a);
      }
      r.attachments = r.attachments.filter((x) => !dropped.has(x.endpointId));
      if (c.netns) r.netns = c.netns;
    });
  };
}

/** Rewrites the running container's /etc/hosts with its current addresses. */
async function refreshEtc(engine: Engine, c: ContainerRecord): Promise<void> {
  const addresses = c.attachments.flatMap((a) => [a.ipv4, a.ipv6]).filter((x): x is string => Boolean(x)).map((x) => x.split('/')[0]!);
  await writeEtcFiles(
    engine.state.containerDir(c.id),
    { hostname: c.config.hostname, addresses, extraHosts: c.host.extraHosts },
    await containerDns(c),
  );
}

async function networksOf(engine: Engine, c: ContainerRecord): Promise<Map<string, NetworkRecord>> {
  const all = await engine.state.networks.list();
  return new Map(all.filter((n) => c.attachments.some((a) => a.networkId === n.id)).map((n) => [n.id, n]));
}

function checkConnectable(c: ContainerRecord, net: NetworkRecord): void {
  if (isBuiltin(net) || c.host.networkMode === 'host') {
    throw new InvalidArgumentError('container cannot be disconnected from host network or connected to host network');
  }
  if (c.attachments.some((a) => a.networkId === net.id)) throw new EngineConflictError(`endpoint with name ${c.name} already exists in network ${net.name}`);
}

/**
 * Connects `c` to `net`.
 * @throws InvalidArgumentError, EngineConflictError, PluginFailedError (the endpoint is then undone).
 */
export async function connectContainer(engine: Engine, c: ContainerRecord, net: NetworkRecord, req: ConnectRequest): Promise<void> {
  checkConnectable(c, net);
  const a: AttachmentRecord = {
    networkId: net.id,
    ipv4Requested: req.ip ?? '',
    ipv6Requested: req.ip6 ?? '',
    macRequested: '',
    aliases: req.aliases,
    driverOpts: req.driverOpts,
    endpointId: newId(),
  };
  const dropped = new Set<string>();
  const persist = mergeInto(engine, c, dropped);
  c.attachments.push(a);
  if (!isRunning(c)) return persist();
  if (!c.netns) {
    c.netns = netnsName(c);
    await attachNetns(c.netns, c.state.pid);
  }
  await persist();
  const ctx: EndpointContext = { engine, container: c, netns: c.netns, sandboxKey: netnsPath(c.netns), persist };
  try {
    await attachEndpoint(ctx, a, net);
    await ensureGatewayEndpoint(ctx, await networksOf(engine, c));
  } catch (err) {
    await detachEndpoint(ctx, a, net);
    c.attachments = c.attachments.filter((x) => x !== a);
    dropped.add(a.endpointId);
    await persist();
    throw err;
  }
  await refreshEtc(engine, c);
}

/**
 * Disconnects `c` from `net`; another endpoint takes over as the gateway if this one was it.
 * @throws EngineNotFoundError when `c` is not connected to `net`.
 */
export async function disconnectContainer(engine: Engine, c: ContainerRecord, net: NetworkRecord): Promise<void> {
  const a = c.attachments.find((x) => x.networkId === net.id);
  if (!a) throw new EngineNotFoundError(`container ${c.id} is not connected to network ${net.name}`);
  const dropped = new Set<string>();
  const persist = mergeInto(engine, c, dropped);
  if (isRunning(c) && c.netns) {
    const ctx: EndpointContext = { engine, container: c, netns: c.netns, sandboxKey: netnsPath(c.netns), persist };
    await detachEndpoint(ctx, a, net);
    c.attachments = c.attachments.filter((x) => x !== a);
    dropped.add(a.endpointId);
    await persist();
    await ensureGatewayEndpoint(ctx, await networksOf(engine, c));
    await refreshEtc(engine, c);
    return;
  }
  c.attachments = c.attachments.filter((x) => x !== a);
  dropped.add(a.endpointId);
  await persist();
}
