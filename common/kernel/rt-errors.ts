/**
 * @module Errors of the link/address/route/neighbour half of the kernel layer, and the errno
 * vocabulary shared by its two back ends (netlink and `ip`). A back end throws {@link Errno}; the
 * public functions turn it into an {@link RtnlError} that names the object and the step.
 */
import { getSystemErrorMap } from 'node:util';
import { KernelError } from './errors.js';

/**
 * Text that the kernel (strerror), `ip` and extended acks print for the errno values we branch on.
 * Used both ways: to word a netlink error, and to recognise the errno in `ip`'s stderr.
 */
const ERRNO_TEXT: Readonly<Record<string, readonly string[]>> = {
  EEXIST: ['File exists', 'Address already assigned'],
  ENODEV: ['No such device', 'Cannot find device', 'does not exist'],
  ENOENT: ['No such file or directory'],
  ESRCH: ['No such process'],
  EADDRNOTAVAIL: ['Cannot assign requested address', 'address not found'],
  EOPNOTSUPP: ['Operation not supported', 'Unknown device type'],
  EINVAL: ['Invalid argument', 'mtu greater than device maximum', 'mtu less than device minimum'],
  EBUSY: ['Device or resource busy'],
  EPERM: ['Operation not permitted'],
  ENETUNREACH: ['Network is unreachable'],
  ENOTCONN: ['Transport endpoint is not connected'],
};

/** Pseudo-errno of the `ip` back end: the named namespace itself does not exist. */
export const ENONETNS = 'ENONETNS';

/** A failed kernel request as a back end reports it: an errno name and a one-line detail. Internal. */
export class Errno extends Error {
  readonly code = 'ERR_KERNEL_ERRNO';
  readonly errno: string;

  constructor(errno: string, detail: string, options?: { cause?: unknown }) {
    super(detail, options);
    this.name = 'Errno';
    this.errno = errno;
  }
}

/** The errno name (e.g. `EEXIST`) for a numeric code or a name, worded as strerror would. */
export function errnoFromCode(code: number | string, cause?: unknown): Errno {
  const name = typeof code === 'number' ? (getSystemErrorMap().get(-Math.abs(code))?.[0] ?? `E${code}`) : code;
  const text = ERRNO_TEXT[name]?.[0] ?? getSystemErrorMap().get(errnoNumber(name))?.[1] ?? name;
  return new Errno(name, text, { cause });
}

function errnoNumber(name: string): number {
  for (const [num, [n]] of getSystemErrorMap()) if (n === name) return num;
  return 0;
}

/** Recognises the errno in a line of `ip`/`bridge` stderr; `EIO` when the text is not one we know. */
export function errnoFromText(stderr: string, cause?: unknown): Errno {
  const line =
    stderr
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l !== '' && !l.startsWith('Command failed')) ?? stderr.trim();
  const detail = line.replace(/^(RTNETLINK answers|Error): /, '').replace(/\.$/, '');
  if (/Cannot open network namespace|Invalid "netns" value/.test(line)) return new Errno(ENONETNS, detail, { cause });
  const lower = line.toLowerCase();
  for (const [errno, texts] of Object.entries(ERRNO_TEXT)) {
    if (texts.some((t) => lower.includes(t.toLowerCase()))) return new Errno(errno, detail, { cause });
  }
  return new Errno('EIO', detail || 'failed', { cause });
}

/** Whether `err` is an {@link Errno} or {@link RtnlError} carrying one of `codes`. */
export function isErrno(err: unknown, ...codes: string[]): boolean {
  return (err instanceof Errno || err instanceof RtnlError) && codes.includes(err.errno);
}

/** A kernel request failed. `errno` (e.g. `EEXIST`) lets callers branch; the message reads `create bridge "tsbr-1": File exists`. */
export class RtnlError extends KernelError {
  override readonly code: string = 'ERR_KERNEL_RTNL';
  readonly errno: string;

  constructor(object: string, step: string, errno: string, detail: string, options?: { cause?: unknown }) {
    super(object, step, detail, options);
    this.name = 'RtnlError';
    this.errno = errno;
  }
}

/** An interface name the kernel would refuse (empty, longer than 15 bytes, or with `/`, `:` or white space). */
export class InvalidNameError extends KernelError {
  override readonly code = 'ERR_KERNEL_INVALID_NAME';

  constructor(name: string, reason: string) {
    super(`interface name "${name}"`, 'validate', reason);
    this.name = 'InvalidNameError';
  }
}

/** A link of the wanted name exists but is not what an `ensure*` call asked for (other kind, VNI, parent…). */
export class LinkConflictError extends KernelError {
  override readonly code = 'ERR_KERNEL_LINK_CONFLICT';

  constructor(object: string, detail: string) {
    super(object, 'ensure', detail);
    this.name = 'LinkConflictError';
  }
}

/**
 * Runs one step of a public operation, turning a back end's {@link Errno} into an {@link RtnlError}
 * that names `object` and `step`. Other errors (already a KernelError, or a bug) pass unchanged.
 */
export async function step<T>(object: string, stepName: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof Errno) throw new RtnlError(object, stepName, err.errno, err.message, { cause: err });
    throw err;
  }
}

/** Like {@link step}, but the listed errno values mean "already done" and resolve to `undefined`. */
export async function stepIgnoring<T>(
  object: string,
  stepName: string,
  ignore: readonly string[],
  fn: () => Promise<T>,
): Promise<T | undefined> {
  try {
    return await step(object, stepName, fn);
  } catch (err) {
    if (isErrno(err, ...ignore)) return undefined;
    throw err;
  }
}
