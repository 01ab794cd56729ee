/**
 * @module HTTP to etcd's v3 JSON gateway with node:http: POSTs of one JSON body over a keep-alive
 * agent, each endpoint tried in turn with its own timeout, and the two errors callers branch on:
 * {@link EtcdUnavailableError} (no endpoint answered) and {@link EtcdError} (etcd answered with an error).
 */
import http from 'node:http';
import { PluginError } from '../protocol/errors.js';

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

/** gRPC codes that mean "this member cannot serve now" (no leader, timed out): the next endpoint is tried. */
const MEMBER_UNAVAILABLE = new Set([4, 14]);

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
  readonly agent = new http.Agent({ keepAlive: true });
  readonly #active = new Set<http.ClientRequest>();
  /** Index of the endpoint that answered last: calls start there. */
  #preferred = 0;
  #closed = false;

  constructor(
    readonly endpoints: readonly string[],
    readonly timeoutMs: number,
  ) {}

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
        failures.push(`${endpoint}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    throw new EtcdUnavailableError(`etcd is unreachable (${failures.join('; ')}); could not ${what}`);
  }

  /**
   * One POST to one endpoint, with a timeout. A stream endpoint (keepalive) answers `{"result": …}`
   * lines: the first is returned.
   */
  async post<T>(endpoint: string, path: string, body: unknown, what: string, timeoutMs: number): Promise<T> {
    const text = await new Promise<string>((resolve, reject) => {
      const req = this.request(endpoint, path, body, timeoutMs, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        res.on('error', reject);
        res.on('close', () => reject(new Error('connection closed before the answer was complete')));
      });
      req.on('error', reject);
    });
    const first = text.split('\n')[0] ?? '';
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
   * Starts a POST whose answer is read by `onResponse`. The timeout covers the wait for the response
   * head only (a watch answers with a stream). The request is tracked until closed, so {@link close}
   * can end it.
   */
  request(endpoint: string, path: string, body: unknown, timeoutMs: number, onResponse: (res: http.IncomingMessage) => void): http.ClientRequest {
    const payload = JSON.stringify(body);
    const req = http.request(`${endpoint}${path}`, {
      method: 'POST',
      agent: this.agent,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) },
    });
    if (this.#closed) {
      process.nextTick(() => req.destroy(new Error('etcd client closed')));
      return req;
    }
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
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
