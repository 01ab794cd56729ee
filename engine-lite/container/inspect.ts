/**
 * @module `inspect` and `ps` views of a container, in docker's field names and shapes so scripts
 * written for docker read them unchanged.
 */
import { ago, humanDuration } from '../format.js';
import type { ContainerRecord, NetworkRecord } from '../state/records.js';
import type { Engine } from '../engine.js';
import { statusOf } from './status.js';

/** The STATUS column of `ps`. */
export function psStatus(c: ContainerRecord, now = Date.now()): string {
  const s = statusOf(c);
  if (s === 'running') return `Up ${humanDuration(now - Date.parse(c.state.startedAt))}`;
  if (s === 'created') return 'Created';
  return `Exited (${c.state.exitCode}) ${ago(c.state.finishedAt, now)}`;
}

const PROTO_NAMES: Record<number, string> = { 6: 'tcp', 17: 'udp', 132: 'sctp' };

/** The PORTS column of `ps`: `0.0.0.0:8080->80/tcp`. */
export function psPorts(c: ContainerRecord): string {
  return c.host.portBindings
    .map((b) => `${b.HostIP || '0.0.0.0'}:${b.HostPort === b.HostPortEnd ? b.HostPort : `${b.HostPort}-${b.HostPortEnd}`}->${b.Port}/${PROTO_NAMES[b.Proto]}`)
    .join(', ');
}

/** A container as `docker inspect` shows it. */
export function inspectContainer(engine: Engine, c: ContainerRecord, networks: ReadonlyMap<string, NetworkRecord>): Record<string, unknown> {
  const status = statusOf(c);
  const running = status === 'running';
  const [path, ...args] = [...c.config.entrypoint, ...c.config.cmd];
  const nets: Record<string, unknown> = {};
  for (const a of c.attachments) {
    const n = networks.get(a.networkId);
    const [ip = '', len = '0'] = (a.ipv4 ?? '').split('/');
    const [ip6 = '', len6 = '0'] = (a.ipv6 ?? '').split('/');
    nets[n?.name ?? a.networkId] = {
      NetworkID: a.networkId,
      EndpointID: a.endpointCreated ? a.endpointId : '',
      Gateway: a.gateway ?? '',
      IPAddress: ip,
      IPPrefixLen: Number(len),
      IPv6Gateway: a.gatewayIPv6 ?? '',
      GlobalIPv6Address: ip6,
      GlobalIPv6PrefixLen: Number(len6),
      MacAddress: a.mac ?? '',
      Aliases: a.aliases,
      DriverOpts: a.driverOpts,
      IPAMConfig: a.ipv4Requested || a.ipv6Requested ? { IPv4Address: a.ipv4Requested, IPv6Address: a.ipv6Requested } : null,
    };
  }
  if (c.host.networkMode === 'none' || c.host.networkMode === 'host') nets[c.host.networkMode] = { NetworkID: '', EndpointID: '', IPAddress: '' };
  return {
    Id: c.id,
    Created: c.created,
    Path: path ?? '',
    Args: args,
    State: {
      Status: status,
      Running: running,
      Paused: false,
      Restarting: false,
      OOMKilled: c.state.oomKilled,
      Dead: false,
      Pid: running ? c.state.pid : 0,
      ExitCode: c.state.exitCode,
      Error: c.state.error,
      StartedAt: c.state.startedAt || '0001-01-01T00:00:00Z',
      FinishedAt: c.state.finishedAt || '0001-01-01T00:00:00Z',
    },
    Image: `sha256:${c.image.id}`,
    LogPath: engine.state.containerLogs(c.id).stdout,
    Name: `/${c.name}`,
    HostConfig: {
      Binds: c.mounts.filter((m) => m.type === 'bind').map((m) => `${m.source}:${m.destination}${m.readonly ? ':ro' : ''}`),
      NetworkMode: c.host.networkMode,
      PortBindings: c.host.portBindings,
      AutoRemove: c.host.autoRemove,
      Privileged: c.host.privileged,
      CapAdd: c.host.capAdd,
      CapDrop: c.host.capDrop,
      SecurityOpt: c.host.securityOpt ?? [],
      ReadonlyRootfs: c.host.readonlyRootfs ?? false,
      UsernsMode: c.host.userns ? `remap:${c.host.userns.uid}:${c.host.userns.count}` : '',
      Dns: c.host.dns,
      DnsSearch: c.host.dnsSearch,
      DnsOptions: c.host.dnsOptions,
      ExtraHosts: c.host.extraHosts,
      Memory: c.host.memory,
      NanoCpus: c.host.nanoCpus,
      PidsLimit: c.host.pidsLimit,
    },
    Mounts: c.mounts.map((m) => ({
      Type: m.type,
      ...(m.type === 'volume' ? { Name: m.source, Source: m.mountpoint ?? '', Driver: m.driver } : { Source: m.source }),
      Destination: m.destination,
      Mode: m.readonly ? 'ro' : '',
      RW: !m.readonly,
      Propagation: m.type === 'bind' ? 'rprivate' : '',
    })),
    Config: {
      Hostname: c.config.hostname,
      User: c.config.user ?? '',
      Tty: c.config.tty,
      OpenStdin: c.config.openStdin,
      Env: c.config.env,
      Cmd: c.config.cmd,
      Image: c.image.name,
      WorkingDir: c.config.workdir,
      Entrypoint: c.config.entrypoint.length > 0 ? c.config.entrypoint : null,
      StopSignal: c.config.stopSignal,
      StopTimeout: c.config.stopTimeout,
    },
    NetworkSettings: {
      SandboxKey: c.netns ? `/run/netns/${c.netns}` : running ? `/proc/${c.state.pid}/ns/net` : '',
      Networks: nets,
    },
  };
}
