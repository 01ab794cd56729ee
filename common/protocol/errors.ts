/**
 * @module The error family that reaches the wire: the protocol layer's vocabulary, which the drivers
 * extend (ipam/errors.ts, the cluster's etcd errors). The plugin server turns a thrown
 * {@link PluginError} into its `status` and `{"Err": message}`; anything else becomes a 500 with the
 * error's message and is logged as unexpected. Tests and callers branch on the class or on `code`,
 * never on message text (the message is what a Docker user reads). docs/errors.md lists every code.
 */

export class PluginError extends Error {
  /** Stable machine-readable code, e.g. `ERR_NOT_FOUND`. */
  readonly code: string;
  /** HTTP status the plugin server answers with. */
  readonly status: number;
  /**
   * An answer the protocol's normal flow asks for rather than a refusal: dockerd sends
   * `VolumeDriver.Get` for a name before every `docker volume create`, so "no such volume" there is
   * routine. The server logs it as an ordinary request and counts it as outcome `expected`.
   */
  readonly expected: boolean;

  constructor(message: string, opts: { code?: string; status?: number; cause?: unknown; expected?: boolean } = {}) {
    super(message, { cause: opts.cause });
    this.name = new.target.name;
    this.code = opts.code ?? 'ERR_PLUGIN';
    this.status = opts.status ?? 500;
    this.expected = opts.expected ?? false;
  }
}

/** The request did not parse or validate; nothing was changed. HTTP 400. */
export class InvalidRequestError extends PluginError {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super(message, { code: 'ERR_INVALID_REQUEST', status: 400, ...opts });
  }
}

/** A named object (network, endpoint, pool, volume) does not exist. */
export class NotFoundError extends PluginError {
  constructor(message: string, opts: { cause?: unknown; expected?: boolean } = {}) {
    super(message, { code: 'ERR_NOT_FOUND', ...opts });
  }
}

/** The request conflicts with existing state (overlap, in use, already exists with other settings). */
export class ConflictError extends PluginError {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super(message, { code: 'ERR_CONFLICT', ...opts });
  }
}

/** The operation is valid but not offered (a missing kernel feature, a swarm-only call). */
export class UnsupportedError extends PluginError {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super(message, { code: 'ERR_UNSUPPORTED', ...opts });
  }
}

/** The plugin is still starting (reconciling) or failed to start; the call changed nothing. HTTP 503. */
export class NotReadyError extends PluginError {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super(message, { code: 'ERR_NOT_READY', status: 503, ...opts });
  }
}

/** The request body is larger than the server accepts; it was read and dropped. HTTP 413. */
export class BodyTooLargeError extends PluginError {
  constructor(limit: number) {
    super(`request body larger than ${limit} bytes`, { code: 'ERR_BODY_TOO_LARGE', status: 413 });
  }
}

/** The path names no method this socket serves. HTTP 404. */
export class UnknownMethodError extends PluginError {
  constructor(path: string, served: readonly string[]) {
    super(`unknown method ${path}: this plugin implements ${served.join(', ')}`, { code: 'ERR_UNKNOWN_METHOD', status: 404 });
  }
}

/** An HTTP method other than POST. HTTP 405. */
export class MethodNotAllowedError extends PluginError {
  constructor(method: string | undefined) {
    super(`method ${method} not allowed: plugin calls are POST`, { code: 'ERR_METHOD_NOT_ALLOWED', status: 405 });
  }
}
