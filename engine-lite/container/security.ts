/**
 * @module A container's confinement: `--security-opt` checked at create, and at start (and `exec`)
 * the capabilities, `no_new_privs`, seccomp filter and user its processes get. Defaults: docker's
 * capability set, docker's seccomp profile, and `no_new_privs` on (docker leaves it off unless
 * `--security-opt no-new-privileges`); `--privileged` keeps every capability the host has and drops
 * the filter and `no_new_privs`.
 */
import type { ProcessSpec } from '../../common/kernel/container-process.js';
import { compileSeccomp } from '../../common/kernel/seccomp-bpf.js';
import { InvalidArgumentError } from '../errors.js';
import type { ContainerRecord } from '../state/records.js';
import { capabilityNames, resolveCapabilities } from './capabilities.js';
import { DEFAULT_SECCOMP_PROFILE, readSeccompProfile, resolveSeccomp, type SeccompProfile } from './seccomp-profile.js';

/** What `--security-opt` values set, as the record keeps them. */
export interface SecurityOpts {
  /** `unconfined`, or a profile's JSON text; absent: docker's default profile. */
  seccomp?: string;
  noNewPrivileges: boolean;
}

/**
 * Checks `--security-opt` values: `seccomp=unconfined`, `seccomp=FILE` (read now, as the docker
 * client does), `no-new-privileges[=true|false]` (also `:`).
 * @throws InvalidArgumentError for anything else or an unreadable/invalid profile.
 */
export async function parseSecurityOpts(opts: readonly string[]): Promise<SecurityOpts> {
  const out: SecurityOpts = { noNewPrivileges: true };
  for (const o of opts) {
    const m = /^([a-z-]+)(?:[=:](.*))?$/.exec(o);
    const [key, value] = [m?.[1], m?.[2]];
    if (key === 'no-new-privileges' && (value === undefined || value === 'true' || value === 'false')) {
      out.noNewPrivileges = value !== 'false';
    } else if (key === 'seccomp' && value) {
      out.seccomp = value === 'unconfined' ? value : await readSeccompProfile(value);
    } else {
      throw new InvalidArgumentError(`invalid --security-opt "${o}": engine-lite knows seccomp=unconfined|FILE and no-new-privileges[=true|false]`);
    }
  }
  return out;
}

/** The confinement part of the init helper's process description for container `c`. */
export function processSecurity(c: ContainerRecord): Pick<ProcessSpec, 'capabilities' | 'noNewPrivileges' | 'seccomp' | 'user'> {
  const capabilities = resolveCapabilities({ privileged: c.host.privileged, add: c.host.capAdd, drop: c.host.capDrop });
  const seccomp = c.host.seccomp ?? 'default';
  const user = c.config.userIds ? { user: c.config.userIds } : {};
  if (c.host.privileged || seccomp === 'unconfined') return { capabilities, noNewPrivileges: !c.host.privileged && c.host.noNewPrivileges !== false, ...user };
  const profile = seccomp === 'default' ? DEFAULT_SECCOMP_PROFILE : (JSON.parse(seccomp) as SeccompProfile);
  const filter = resolveSeccomp(profile, { caps: new Set(capabilityNames(capabilities)) });
  return { capabilities, noNewPrivileges: c.host.noNewPrivileges !== false, seccomp: compileSeccomp(filter), ...user };
}
