/**
 * @module HTTP(S) to etcd's v3 JSON gateway with node:http/node:https: POSTs of one JSON body over a
 * keep-alive agent (for `https://` endpoints with the CA and client certificate of {@link EtcdTls}),
 * each endpoint tried in turn with its own timeout, and the errors callers branch on:
 * {@link EtcdUnavailableError} (no endpoint answered), {@link EtcdError} (etcd answered with an error),
 * {@link EtcdTlsError} (the TLS handshake failed: a configuration error, not an outage) and
 * {@link EtcdAuthError} (etcd refused the user or password). With {@link EtcdAuth}, a token from
 * `/v3/auth/authenticate` goes in the `Authorization` header of every request; when etcd says it is
 * invalid (it expired: etcd's `--auth-token-ttl`), one new token is asked for and the request sent again.
 */
import http from 'node:http';
import https from 'node:https';
import { PluginError } from '../protocol/errors.js';
import type { EtcdAuth, EtcdSecurity } from './etcd-security.js';

/** No etcd endpoint answered in time; the message names each endpoint and why. */
export class EtcdUnavailableError extends PluginError {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super(message, { code: 'ERR_ETCD_UNAVAILABLE', status: 503, ...opts });
  }
}

/** etcd answered, with an error (lease not found, revision compacted, bad request…). */
export class EtcdError extends PluginError {
  /** The gRPC status code etcd gave (5 not found, 11 out of range for compacted revisions, …). */
  readonly grpcCode: number;
  constructor(message: string, grpcCode: number) {
    super(message, { code: 'ERR_ETCD' });
    this.grpcCode = grpcCode;
  }
}

/** The TLS handshake with etcd failed (untrusted certificate, client certificate refused, not TLS). */
export class EtcdTlsError extends PluginError {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super(message, { code: 'ERR_ETCD_TLS', status: 503, ...opts });
  }
}

/** etcd refused to authenticate the user (wrong name or password, or auth is not enabled). */
export class EtcdAuthError extends PluginError {
  constructor(message: string) {
    super(message, { code: 'ERR_ETCD_AUTH', status: 503 });
  }
}

/** gRPC codes that mean "this member cannot serve now" (no leader, timed out): the next endpoint is tried. */
const MEMBER_UNAVAILABLE = new Set([4, 14]);
/** gRPC UNAUTHENTICATED: etcd's "invalid auth token" (an expired token). */
const UNAUTHENTICATED = 16;
/** How etcd 3.4's gateway answers a client certificate with a CommonName while auth is on. */
const GATEWAY_CN = 'CommonName of client sending a request against gateway';
/** Node's codes for a server certificate it does not trust. */
const UNTRUSTED = /CERT|SIGNATURE|ISSUER|ALTNAME/;

/** Errors of https requests whose new connection failed before its TLS handshake was through. */
const beforeHandshake = new WeakSet<Error>();

/**
 * `err` with a hint when the connection was dropped during the TLS handshake, which is how a
 * plain-HTTP etcd answers TLS: a close ("socket disconnected before secure TLS connection was
 * established") or a reset (`ECONNRESET`), whichever comes first. It may also be an outage, so it
 * stays a connection error.
 */
export function withTlsHint(endpoint: string, err: Error): Error {
  const dropped = (err as NodeJS.ErrnoException).code === 'ECONNRESET' || /before secure TLS connection was established/.test(err.message);
  if (!beforeHandshake.has(err) || !dropped) return err;
  return new Error(`${err.message} (if etcd at ${endpoint} does not serve TLS, write etcd:// instead of etcds://)`, { cause: err });
}

/**
 * A TLS failure of `endpoint`, explained, or undefined when `err` is not one. Server certificates that
 * do not verify point at `--cluster-ca`; a handshake etcd aborted points at the client certificate.
 */
export function tlsFailure(endpoint: string, err: unknown): EtcdTlsError | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? '';
  // OpenSSL's own text of an alert is a line of internals: the code says it all.
  const detail = /^ERR_SSL_/.test(code) ? code : `${code}: ${(err as Error).message}`;
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER') return new EtcdTlsError(`etcd at ${endpoint} does not speak TLS (${detail}); write etcd:// for a plain-HTTP etcd`, { cause: err });
  if (/ALERT/.test(code)) {
    return new EtcdTlsError(`etcd at ${endpoint} refused the TLS handshake (${detail}): it wants a client certificate signed by its --trusted-ca-file; check --cluster-cert and --cluster-key`, { cause: err });
  }
  if (UNTRUSTED.test(code)) return new EtcdTlsError(`etcd at ${endpoint} has a certificate tsnet does not trust (${detail}); check --cluster-ca (the CA that signed etcd's --cert-file)`, { cause: err });
  return undefined;
}

/** The body of a gateway error (a gRPC status). */
interface WireStatus {
  error?: string | { message?: string; grpc_code?: number };
  message?: string;
  code?: number;
}

/** Turns a gateway error body into an EtcdError, or undefined when it is not one. */
export function statusError(body: unknown, what: string): EtcdError | undefined {
  if (typeof body !== 'object' || body === null || !('error' in body)) return undefined;
  const s = body as WireStatus;
  const message = typeof s.error === 'object' ? s.error.message : (s.message ?? s.error);
  const code = typeof s.error === 'object' ? s.error.grpc_code : s.code;
  return new EtcdError(`etcd refused to ${what}: ${message ?? 'unknown error'}`, code ?? 2);
}

export class EtcdHttp {
  readonly agent: http.Agent;
  readonly #active = new Set<http.ClientRequest>();
  readonly #auth: EtcdAuth | undefined;
  /** The current token, asked for by the first request that needs it; undefined: none yet, or dropped. */
  #token: Promise<string> | undefined;
  /** What {@link #token} resolved to, once it has. */
  #tokenValue: string | undefined;
  /** Index of the endpoint that answered last: calls start there. */
  #preferred = 0;
  #closed = false;

  constructor(
    readonly endpoints: readonly string[],
    readonly timeoutMs: number,
    security: EtcdSecurity = {},
  ) {
    const tls = endpoints[0]?.startsWith('https:') === true;
    if (endpoints.some((e) => e.startsWith('https:') !== tls)) throw new Error('etcd endpoints must all be http:// or all https://');
    this.agent = tls ? new https.Agent({ keepAlive: true, ...security.tls }) : new http.Agent({ keepAlive: true });
    this.#auth = security.auth;
  }

  /** Endpoints in the order to try them: the last good one first, then the rest in order. */
  order(): string[] {
    const n = this.endpoints.length;
    return this.endpoints.map((_, i) => this.endpoints[(this.#preferred + i) % n]!);
  }

  /**
   * POSTs `body` to `path` on each endpoint in turn until one answers.
   * @param what for error messages, e.g. `put "/tsnet/v1/…"`.
   * @throws EtcdError when etcd refuses; EtcdUnavailableError naming each endpoint's failure when none answers.
   */
  async call<T>(path: string, body: unknown, what: string): Promise<T> {
    const failures: string[] = [];
    for (const endpoint of this.order()) {
      try {
        const res = await this.post<T>(endpoint, path, body, what, this.timeoutMs);
        this.#preferred = this.endpoints.indexOf(endpoint);
        return res;
      } catch (err) {
        if (err instanceof EtcdError && !MEMBER_UNAVAILABLE.has(err.grpcCode)) throw err;
        if (err instanceof EtcdTlsError || err instanceof EtcdAuthError) throw err;
        failures.push(`${endpoint}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    throw new EtcdUnavailableError(`etcd is unreachable (${failures.join('; ')}); could not ${what}`);
  }

  /**
   * The token to send (undefined without auth), asked for once and shared until {@link dropToken}.
   * @throws EtcdAuthError when etcd refuses the user or password; EtcdUnavailableError, EtcdTlsError.
   */
  async token(): Promise<string | undefined> {
    const auth = this.#auth;
    if (!auth) return undefined;
    if (!this.#token) {
      const asked = this.#authenticate(auth);
      this.#token = asked;
      this.#tokenValue = undefined;
      asked.then(
        (t) => this.#token === asked && (this.#tokenValue = t),
        // A failed attempt is not kept: the next request asks again.
        () => this.#token === asked && (this.#token = undefined),
      );
    }
    return this.#token;
  }

  /** etcd said `stale` is invalid: the next {@link token} asks for a new one (once, however many saw it fail). */
  dropToken(stale: string | undefined): void {
    if (stale === undefined || this.#tokenValue !== stale) return;
    this.#token = undefined;
    this.#tokenValue = undefined;
  }

  /** Whether `err` is etcd's answer to an expired or unknown token. */
  static expired(err: unknown): boolean {
    return err instanceof EtcdError && err.grpcCode === UNAUTHENTICATED;
  }

  async #authenticate(auth: EtcdAuth): Promise<string> {
    const failures: string[] = [];
    for (const endpoint of this.order()) {
      try {
        const r = await this.#postOnce<{ token?: string }>(endpoint, '/v3/auth/authenticate', { name: auth.user, password: auth.password }, `authenticate as user "${auth.user}"`, this.timeoutMs, undefined);
        if (!r.token) throw new EtcdAuthError(`etcd at ${endpoint} gave no token for user "${auth.user}": is auth enabled there (etcdctl auth enable)?`);
        return r.token;
      } catch (err) {
        if (err instanceof EtcdError && !MEMBER_UNAVAILABLE.has(err.grpcCode)) throw new EtcdAuthError(`${err.message} (check --cluster-user and the password)`);
        if (err instanceof EtcdTlsError || err instanceof EtcdAuthError) throw err;
        failures.push(`${endpoint}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    throw new EtcdUnavailableError(`etcd is unreachable (${failures.join('; ')}); could not authenticate as user "${auth.user}"`);
  }

  /**
   * One POST to one endpoint, with a timeout, with the token when there is auth (a new one once if
   * etcd says it expired). A stream endpoint (keepalive) answers `{"result": …}` lines: the first is returned.
   */
  async post<T>(endpoint: string, path: string, body: unknown, what: string, timeoutMs: number): Promise<T> {
    const token = await this.token();
    try {
      return await this.#postOnce<T>(endpoint, path, body, what, timeoutMs, token);
    } catch (err) {
      if (token === undefined || !EtcdHttp.expired(err)) throw err;
      this.dropToken(token);
      return this.#postOnce<T>(endpoint, path, body, what, timeoutMs, await this.token());
    }
  }

  async #postOnce<T>(endpoint: string, path: string, body: unknown, what: string, timeoutMs: number, token: string | undefined): Promise<T> {
    const text = await new Promise<string>((resolve, reject) => {
      const req = this.request(endpoint, path, body, timeoutMs, token, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        res.on('error', reject);
        res.on('close', () => reject(new Error('connection closed before the answer was complete')));
      });
      req.on('error', (err) => reject(tlsFailure(endpoint, err) ?? withTlsHint(endpoint, err)));
    });
    const first = text.split('\n')[0] ?? '';
    if (first.startsWith(GATEWAY_CN)) {
      throw new EtcdTlsError(`etcd at ${endpoint} refused the request: with auth on, its JSON gateway takes no client certificate that has a CommonName; make --cluster-cert without one (e.g. subject "/O=tsnet") and authenticate with --cluster-user`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(first);
    } catch {
      throw new Error(`not an etcd v3 gateway (answered "${first.slice(0, 80)}")`);
    }
    const err = statusError(parsed, what);
    if (err) throw err;
    const result = (parsed as { result?: unknown }).result;
    return (result ?? parsed) as T;
  }

  /**
   * Starts a POST whose answer is read by `onResponse`, with `token` (see {@link token}) when given.
   * The timeout covers the wait for the response head only (a watch answers with a stream). The
   * request is tracked until closed, so {@link close} can end it.
   */
  request(endpoint: string, path: string, body: unknown, timeoutMs: number, token: string | undefined, onResponse: (res: http.IncomingMessage) => void): http.ClientRequest {
    const payload = JSON.stringify(body);
    const headers = { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload), ...(token !== undefined && { Authorization: token }) };
    const options = { method: 'POST', agent: this.agent, headers };
    const req = endpoint.startsWith('https:') ? https.request(`${endpoint}${path}`, options) : http.request(`${endpoint}${path}`, options);
    if (this.#closed) {
      process.nextTick(() => req.destroy(new Error('etcd client closed')));
      return req;
    }
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    if (endpoint.startsWith('https:')) {
      // A kept-alive connection is past its handshake; a new one is once it says secureConnect.
      let secured = false;
      req.on('socket', (socket) => (req.reusedSocket ? (secured = true) : socket.once('secureConnect', () => (secured = true))));
      req.prependListener('error', (err) => !secured && beforeHandshake.add(err));
    }
    this.#active.add(req);
    req.on('response', (res) => {
      clearTimeout(timer);
      onResponse(res);
    });
    req.on('close', () => {
      clearTimeout(timer);
      this.#active.delete(req);
    });
    req.end(payload);
    return req;
  }

  /** Ends every open request and the agent's sockets; later calls fail at once. */
  close(): void {
    this.#closed = true;
    for (const req of this.#active) req.destroy(new Error('etcd client closed'));
    this.agent.destroy();
  }
}
