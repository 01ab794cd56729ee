/**
 * @module Kernel parameters (sysctl). In this process's own network namespace they are read and
 * written as files under `/proc/sys`; in another named namespace through
 * `ip netns exec NS sysctl`, since a Node process cannot enter a namespace itself.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { KernelArgumentError, KernelError } from './errors.js';
import { run } from './exec.js';

/** Where a sysctl call acts: a named network namespace, or this process's own. */
export interface SysctlOptions {
  netns?: string;
}

/**
 * The path under `/proc/sys` of a key. Keys use dots (`net.ipv4.ip_forward`) or, when a part holds
 * a dot such as the interface `eth0.10`, slashes (`net/ipv4/conf/eth0.10/forwarding`), as sysctl(8).
 * @throws KernelArgumentError for an empty part, `..`, or characters outside `[A-Za-z0-9_.@:+-]`.
 */
export function sysctlPath(key: string): string {
  const parts = key.includes('/') ? key.split('/') : key.split('.');
  for (const part of parts) {
    if (part === '' || part === '.' || part === '..' || !/^[A-Za-z0-9_.@:+-]+$/.test(part)) {
      throw new KernelArgumentError('key', `"${key}" is not a sysctl key such as net.ipv4.ip_forward`);
    }
  }
  return `/proc/sys/${parts.join('/')}`;
}

/** A value as the kernel prints it, with runs of blanks (tabs between fields) made one space. */
export function normaliseSysctlValue(value: string): string {
  return value.trim().split(/\s+/).join(' ');
}

function object(key: string, opts: SysctlOptions): string {
  return `sysctl "${key}"${opts.netns ? ` in netns "${opts.netns}"` : ''}`;
}

function kernelError(key: string, opts: SysctlOptions, step: string, err: unknown): KernelError {
  const detail = err instanceof Error ? err.message : String(err);
  return new KernelError(object(key, opts), step, detail, { cause: err });
}

/**
 * Reads a sysctl, normalised with {@link normaliseSysctlValue}. Read-only.
 * @throws KernelArgumentError for a bad key; KernelError when the key does not exist or cannot be read.
 */
export async function readSysctl(key: string, opts: SysctlOptions = {}): Promise<string> {
  const path = sysctlPath(key);
  if (opts.netns) {
    const { stdout } = await run(['ip', 'netns', 'exec', opts.netns, 'sysctl', '-n', '-e', path.slice('/proc/sys/'.length)], {
      object: object(key, opts),
      step: 'read',
    });
    // sysctl -e prints nothing for a key that does not exist; a real value always has a line.
    if (stdout === '') throw new KernelError(object(key, opts), 'read', 'no such key');
    return normaliseSysctlValue(stdout);
  }
  try {
    return normaliseSysctlValue(await readFile(path, 'utf8'));
  } catch (err) {
    throw kernelError(key, opts, 'read', err);
  }
}

/**
 * Writes a sysctl. Idempotent in effect (the kernel keeps the last value); use
 * {@link ensureSysctl} to skip writes of the value already set.
 * @throws KernelArgumentError for a bad key or a value with a line break; KernelError when the kernel refuses.
 */
export async function writeSysctl(key: string, value: string | number, opts: SysctlOptions = {}): Promise<void> {
  const path = sysctlPath(key);
  const v = String(value);
  if (/[\n\r\0]/.test(v)) throw new KernelArgumentError('value', `${JSON.stringify(v)} contains a line break or NUL`);
  if (opts.netns) {
    await run(['ip', 'netns', 'exec', opts.netns, 'sysctl', '-q', '-w', `${path.slice('/proc/sys/'.length)}=${v}`], {
      object: object(key, opts),
      step: 'write',
    });
    return;
  }
  try {
    await writeFile(path, v);
  } catch (err) {
    throw kernelError(key, opts, 'write', err);
  }
}

/**
 * Sets a sysctl to `value` unless it already has it (compared after normalising blanks).
 * Idempotent.
 * @returns the value before the call, so a caller can restore it.
 * @throws as {@link readSysctl} and {@link writeSysctl}.
 */
export async function ensureSysctl(key: string, value: string | number, opts: SysctlOptions = {}): Promise<string> {
  const previous = await readSysctl(key, opts);
  if (previous !== normaliseSysctlValue(String(value))) await writeSysctl(key, value, opts);
  return previous;
}

/** The sysctls that turn IPv6 off in a network namespace: `all` (every interface) and `default` (new ones). */
const IPV6_OFF_KEYS = ['net.ipv6.conf.all.disable_ipv6', 'net.ipv6.conf.default.disable_ipv6'];

/**
 * Why IPv6 cannot be used in the namespace (this process's own, or `opts.netns`), as a sentence for
 * users and skipped tests; `undefined` when it can. IPv6 is off when the kernel has none
 * (no /proc/sys/net/ipv6: built without it, or booted with ipv6.disable=1) or when
 * `net.ipv6.conf.{all,default}.disable_ipv6` is 1 there (per namespace; many containers and VMs set it).
 * Read-only.
 * @throws KernelError when the sysctl exists but cannot be read.
 */
export async function ipv6Disabled(opts: SysctlOptions = {}): Promise<string | undefined> {
  const where = opts.netns ? `in network namespace "${opts.netns}"` : 'on this host';
  // ipv6.disable=1 removes IPv6 from the kernel, so from every namespace at once.
  if (!existsSync('/proc/sys/net/ipv6')) return `IPv6 is disabled ${where}: the kernel has no IPv6 (no /proc/sys/net/ipv6; booted with ipv6.disable=1?)`;
  for (const key of IPV6_OFF_KEYS) {
    if ((await readSysctl(key, opts)) === '1') return `IPv6 is disabled ${where} (sysctl ${key}=1)`;
  }
  return undefined;
}
