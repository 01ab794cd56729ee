/**
 * @module Starting a container, in dockerd's order: cgroup, network namespace and endpoints, volume
 * mounts, /etc files (`prepareContainer`); then the init helper, which is put in the cgroup and has
 * its network ready before it runs a single instruction of the container's own (`launch`). Each
 * step is recorded first, so teardown.ts can undo a start that failed or whose owner died.
 */
import { cgroupProcsFiles, createCgroup, deviceRulesSupported } from '../../common/kernel/cgroup.js';
import { ContainerInitError, type InitHelper, type Launched, type NewContainerSpec } from '../../common/kernel/container-process.js';
import { netnsPath } from '../../common/kernel/netns.js';
import type { Engine } from '../engine.js';
import { CommandStartError } from '../errors.js';
import { shortId } from '../ids.js';
import { findImage } from '../image/images.js';
import { lowerDirs } from '../image/layers.js';
import { procRef } from '../state/proc-ref.js';
import type { ContainerRecord } from '../state/records.js';
import { deviceRules } from './devices.js';
import { etcPaths, writeEtcFiles } from './etc-files.js';
import { containerDns } from '../network/name-service.js';
import { rootfsSteps, type PlannedMount } from './rootfs-plan.js';
import { processSecurity } from './security.js';
import { persistFn } from './teardown.js';

/** The network namespace name of a container that needs a named one. */
export const netnsName = (c: ContainerRecord) => `tsel-${shortId(c.id)}`;

/** Attaches every recorded network (lazily loading the network client: most runs have none). */
async function attachNetworks(engine: Engine, c: ContainerRecord, persist: () => Promise<void>): Promise<void> {
  const { ensureNetns } = await import('../../common/kernel/netns.js');
  const { attachEndpoint, ensureGatewayEndpoint } = await import('../network/endpoints.js');
  const { findNetwork } = await import('../network/networks.js');
  c.netns = netnsName(c);
  await persist();
  await ensureNetns(c.netns);
  const ctx = { engine, container: c, netns: c.netns, sandboxKey: netnsPath(c.netns), persist };
  const networks = new Map();
  for (const a of c.attachments) {
    const net = await findNetwork(engine, a.networkId);
    networks.set(net.id, net);
    await attachEndpoint(ctx, a, net);
  }
  await ensureGatewayEndpoint(ctx, networks);
}

/**
 * Makes everything the container needs except its process: cgroup with its limits, network
 * namespace and endpoints, volume mounts, /etc files. With `helper` (the init helper that will
 * launch the container, spawned already), the helper joins the cgroup as soon as it exists.
 * @throws KernelError, PluginFailedError; progress is recorded for teardown.
 */
export async function prepareContainer(engine: Engine, c: ContainerRecord, helper?: InitHelper): Promise<void> {
  const persist = persistFn(engine, c);
  const devices = deviceRules(c);
  await createCgroup(c.cgroup, {
    ...(c.host.memory > 0 ? { memoryBytes: c.host.memory } : {}),
    ...(c.host.nanoCpus > 0 ? { cpus: c.host.nanoCpus / 1e9 } : {}),
    ...(c.host.pidsLimit > 0 ? { pidsMax: c.host.pidsLimit } : {}),
    ...(devices && (await deviceRulesSupported()) ? { devices } : {}),
  });
  helper?.joinCgroups(await cgroupProcsFiles(c.cgroup));
  if (c.attachments.length > 0) await attachNetworks(engine, c, persist);
  if (c.mounts.some((m) => m.type === 'volume')) {
    const { mountVolumes } = await import('../volume/container-mounts.js');
    await mountVolumes(engine, c, persist);
  }
  const addresses = c.attachments.flatMap((a) => [a.ipv4, a.ipv6]).filter((x): x is string => Boolean(x)).map((x) => x.split('/')[0]!);
  const host = c.host.networkMode === 'host';
  const { readFile } = await import('node:fs/promises');
  await writeEtcFiles(
    engine.state.containerDir(c.id),
    {
      hostname: c.config.hostname,
      addresses,
      extraHosts: c.host.extraHosts,
      ...(host ? { hostFile: await readFile('/etc/hosts', 'utf8').catch(() => '') } : {}),
    },
    host ? 'host' : await containerDns(c),
  );
  const { userns } = c.host;
  if (userns) {
    // Container root owns its /etc files, as it owns the rest of its root.
    const { chown } = await import('node:fs/promises');
    for (const p of Object.values(etcPaths(engine.state.containerDir(c.id)))) await chown(p, userns.uid, userns.gid);
  }
}

/** The init helper's description of the container. */
async function containerSpec(engine: Engine, c: ContainerRecord): Promise<NewContainerSpec> {
  const image = await findImage(engine.state, c.image.id);
  const dir = engine.state.containerDir(c.id);
  const mounts = c.mounts.map(
    (m): PlannedMount => ({
      kind: m.type === 'tmpfs' ? 'tmpfs' : 'bind',
      source: m.type === 'volume' ? m.mountpoint! : m.source,
      destination: m.destination,
      readonly: m.readonly,
      ...(m.tmpfsOptions ? { tmpfsOptions: m.tmpfsOptions } : {}),
    }),
  );
  for (const d of c.host.devices ?? []) mounts.push({ kind: 'bind', source: d.pathOnHost, destination: d.pathInContainer, readonly: false });
  return {
    network: c.host.networkMode === 'host' ? 'host' : c.netns ? { netns: c.netns } : 'new',
    hostname: c.config.hostname,
    rootfs: { lower: lowerDirs(engine.state, image), upper: `${dir}/upper`, work: `${dir}/work`, target: `${dir}/rootfs` },
    steps: rootfsSteps({ privileged: c.host.privileged, readonlyRoot: c.host.readonlyRootfs ?? false, etc: etcPaths(dir), mounts }),
    argv: [...c.config.entrypoint, ...c.config.cmd],
    env: c.config.env,
    workdir: c.config.workdir,
    ...processSecurity(c),
    ...(c.host.userns ? { userns: c.host.userns } : {}),
  };
}

/** Turns the init helper's failure into docker's exit codes (125 setup, 126, 127). */
export function startError(err: unknown): CommandStartError {
  if (err instanceof CommandStartError) return err;
  if (err instanceof ContainerInitError) return new CommandStartError(err.message, err.exitCode, { cause: err });
  return new CommandStartError((err as Error).message, 125, { cause: err });
}

/**
 * Starts the container's process on a prepared container through `helper` (spawned by the caller
 * before the preparation, so that Perl starts meanwhile, and already in the cgroup): the process
 * is launched, recorded as running, then let go.
 * @throws CommandStartError (exit code 125, 126 or 127) when it could not start.
 */
export async function launch(engine: Engine, c: ContainerRecord, helper: InitHelper): Promise<Launched> {
  let l: Launched | undefined;
  try {
    l = await helper.launchContainer(await containerSpec(engine, c));
    const init = procRef(l.pid);
    c.state = { ...c.state, status: 'running', pid: l.pid, startedAt: new Date().toISOString(), ...(init ? { init } : {}) };
    await persistFn(engine, c)();
    await l.start();
    return l;
  } catch (err) {
    helper.dispose();
    l?.abort();
    throw startError(err);
  }
}
