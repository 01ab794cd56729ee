/**
 * @module The records engine-lite keeps in its state directory, one JSON file each. Each record names
 * every kernel object and plugin-side object it leads to *before* that object is made, so a later
 * command can undo the work of one that died half-way (see reconcile.ts). Field names follow
 * docker's inspect output where one exists.
 */
import type { ProcRef } from './proc-ref.js';

/**
 * An image: either imported (one root filesystem directory and the config `docker import --change`
 * can set) or loaded (`layers` from the layer store and the config of a `docker save`/OCI image).
 */
export interface ImageRecord {
  v: 1;
  /** Imported: sha256 of the tarball (or random for a directory); loaded: the config's digest, as docker. */
  id: string;
  /** `repo:tag`; empty once another import or load took the name. */
  name: string;
  created: string;
  /** Imported: the root filesystem, inside the state directory or a directory imported by reference; loaded: empty. */
  rootfs: string;
  /** Whether `rootfs` belongs to engine-lite (removed with the image). */
  owned: boolean;
  /** Bytes: the unpacked tarball (imported), the sum of the layers' uncompressed tar sizes (loaded). */
  size: number;
  config: ImageConfig;
  /** Loaded images: the layers' diff IDs (hex sha256 of each uncompressed layer tar), bottom first. */
  layers?: string[];
}

export interface ImageConfig {
  cmd?: string[];
  entrypoint?: string[];
  env?: string[];
  workdir?: string;
  /** `USER` (name, UID, `name:group`, …) as the image config gives it. */
  user?: string;
  /** `EXPOSE`d ports as `80/tcp`. */
  exposedPorts?: string[];
}

/** One unpacked layer in the store (`layers/<diffId>/`), shared by every image that lists it. */
export interface LayerRecord {
  v: 1;
  /** Hex sha256 of the uncompressed layer tar. */
  diffId: string;
  /** Bytes of the uncompressed layer tar. */
  size: number;
  created: string;
}

/** One IPAM pool a network holds, with what was requested from it on the network's behalf. */
export interface PoolRecord {
  v6: boolean;
  addressSpace: string;
  poolId: string;
  /** CIDR, as RequestPool returned it. */
  pool: string;
  subPool: string;
  /** The gateway as a CIDR (from RequestAddress or from the pool's data). */
  gateway?: string;
  /** Aux addresses handed out, name → CIDR. */
  aux: Record<string, string>;
}

/** What `network create` was asked for, per subnet (docker's IPAM config). */
export interface IpamConfig {
  Subnet?: string;
  IPRange?: string;
  Gateway?: string;
  AuxiliaryAddresses?: Record<string, string>;
}

export interface NetworkRecord {
  v: 1;
  id: string;
  name: string;
  created: string;
  driver: string;
  enableIPv6: boolean;
  internal: boolean;
  attachable: boolean;
  options: Record<string, string>;
  labels: Record<string, string>;
  ipam: { driver: string; options: Record<string, string>; config: IpamConfig[] };
  /** Pools obtained so far (all of them once `ready`). */
  pools: PoolRecord[];
  /** `creating`/`removing` while a command works on it; `owner` is that command. */
  status: 'creating' | 'ready' | 'removing';
  /** Whether CreateNetwork was sent (so DeleteNetwork is due on rollback). */
  driverCreated: boolean;
  owner?: ProcRef;
}

export interface VolumeRecord {
  v: 1;
  name: string;
  driver: string;
  created: string;
  options: Record<string, string>;
  labels: Record<string, string>;
  /** Made for one container by `-v /path` without a name; removed with it by `rm -v` or `--rm`. */
  anonymous: boolean;
}

/** A mount of a container: a host path, a plugin volume, or a tmpfs. */
export interface MountRecord {
  type: 'bind' | 'volume' | 'tmpfs';
  /** Host path (bind), volume name (volume), empty (tmpfs). */
  source: string;
  destination: string;
  readonly: boolean;
  /** volume: the driver. */
  driver?: string;
  /** tmpfs: mount options such as `size=64m`. */
  tmpfsOptions?: string;
  /** volume: the random 64-hex ID of the current Mount call (set before the call). */
  mountId?: string;
  /** volume: the path the driver returned. */
  mountpoint?: string;
}

/** One exposed port (`Proto` is the IP protocol number). */
export interface ExposedPort {
  Proto: number;
  Port: number;
}

/** One `-p` binding, in libnetwork's `PortBinding` shape. */
export interface PortBinding extends ExposedPort {
  IP: string;
  HostIP: string;
  HostPort: number;
  HostPortEnd: number;
}

/** A container's attachment to one network, with how far its setup got. */
export interface AttachmentRecord {
  networkId: string;
  /** Address asked for with `--ip` / `--ip6`, MAC with `--mac-address`. */
  ipv4Requested: string;
  ipv6Requested: string;
  macRequested: string;
  aliases: string[];
  driverOpts: Record<string, string>;
  /** Endpoint ID, made when the attachment is first set up. */
  endpointId: string;
  /** CIDRs handed out by IPAM. */
  ipv4?: string;
  ipv6?: string;
  mac?: string;
  /** Set before CreateEndpoint / Join are sent: teardown then sends DeleteEndpoint / Leave. */
  endpointCreated?: boolean;
  joined?: boolean;
  /** The driver's answer to Join. */
  srcName?: string;
  /** The interface's name inside the container (`eth0`), set before it is moved in. */
  ifname?: string;
  gateway?: string;
  gatewayIPv6?: string;
  /** Whether this endpoint is the container's gateway endpoint (ProgramExternalConnectivity sent). */
  isGateway?: boolean;
}

export type ContainerStatus = 'created' | 'running' | 'exited';

export interface ContainerState {
  status: ContainerStatus;
  /** Host pid of the container's PID 1 while running. */
  pid: number;
  /** The process that sets up, watches and cleans up the container (the `run` command or a supervisor). */
  owner?: ProcRef;
  /** The container's PID 1, to tell it from a recycled pid when signalling. */
  init?: ProcRef;
  startedAt: string;
  finishedAt: string;
  exitCode: number;
  oomKilled: boolean;
  error: string;
}

/** A host device given to a container with `--device`. */
export interface DeviceRecord {
  pathOnHost: string;
  pathInContainer: string;
  /** Some of `r`, `w`, `m`. */
  permissions: string;
  /** Its device cgroup rule, e.g. `c 10:237 rw`. */
  rule: string;
}

export interface ContainerRecord {
  v: 1;
  id: string;
  name: string;
  created: string;
  image: { id: string; name: string };
  config: {
    entrypoint: string[];
    cmd: string[];
    env: string[];
    workdir: string;
    hostname: string;
    tty: boolean;
    openStdin: boolean;
    stopSignal: string;
    stopTimeout: number;
    /** `--user` as given, and what it resolved to in the image (absent: root). */
    user?: string;
    userIds?: { uid: number; gid: number; groups: number[] };
  };
  host: {
    memory: number;
    nanoCpus: number;
    pidsLimit: number;
    autoRemove: boolean;
    privileged: boolean;
    capAdd: string[];
    capDrop: string[];
    /** `--security-opt` as given. */
    securityOpt?: string[];
    /** `unconfined` or a seccomp profile's JSON text; absent: docker's default profile. */
    seccomp?: string;
    /** false only with `--security-opt no-new-privileges=false` (absent: on). */
    noNewPrivileges?: boolean;
    readonlyRootfs?: boolean;
    /** `--device`s: bound into the container and allowed by its device cgroup. */
    devices?: DeviceRecord[];
    /** `--userns remap`: the user namespace's id map (absent: the host's ids). */
    userns?: { uid: number; gid: number; count: number };
    dns: string[];
    dnsSearch: string[];
    dnsOptions: string[];
    extraHosts: string[];
    /** `none`, `host`, or the first network's name (docker's NetworkMode). */
    networkMode: string;
    portBindings: PortBinding[];
    exposedPorts: ExposedPort[];
  };
  mounts: MountRecord[];
  attachments: AttachmentRecord[];
  /** Named network namespace (`tsel-<id12>`) once one is needed. */
  netns?: string;
  /** cgroup name under the suite's parent (`tsel-<id12>`). */
  cgroup: string;
  state: ContainerState;
}
