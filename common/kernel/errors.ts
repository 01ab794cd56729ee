/**
 * @module Errors raised by the kernel layer. Every failure names the object and the step that failed,
 * so a driver can pass the message on to Docker unchanged.
 */

/** A kernel operation failed. `object` is what we acted on (e.g. `bridge "tsbr-3f2a9c"`), `step` what we tried. */
export class KernelError extends Error {
  readonly code: string = 'ERR_KERNEL';
  readonly object: string;
  readonly step: string;

  constructor(object: string, step: string, detail: string, options?: { cause?: unknown }) {
    super(`${step} ${object}: ${detail}`, options);
    this.name = 'KernelError';
    this.object = object;
    this.step = step;
  }
}

/** The running kernel lacks a feature (a module such as 8021q or ipvlan). Tests skip on this, with its message. */
export class KernelFeatureMissingError extends KernelError {
  override readonly code = 'ERR_KERNEL_FEATURE_MISSING';
  readonly feature: string;

  constructor(feature: string, detail: string, options?: { cause?: unknown }) {
    super(`feature "${feature}"`, 'use', `not supported by this kernel: ${detail}`, options);
    this.name = 'KernelFeatureMissingError';
    this.feature = feature;
  }
}

/**
 * An argument the kernel layer refuses before running anything: a chain name iptables would reject
 * or that is not ours, a sysctl key, a mount option, a cgroup limit. `option` names the bad input.
 */
export class KernelArgumentError extends TypeError {
  readonly code = 'ERR_KERNEL_ARGUMENT';
  readonly option: string;

  constructor(option: string, message: string) {
    super(`${option}: ${message}`);
    this.name = 'KernelArgumentError';
    this.option = option;
  }
}
