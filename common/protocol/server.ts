/**
 * @module The Docker plugin HTTP server on a unix socket, shared by tsnet, tsipam and tsvol.
 *
 * Follows what dockerd really sends (docs/plugin-protocol.md §1): POST `/Interface.Method`, no
 * Content-Type, sometimes an empty body. Every body is parsed as JSON whatever the headers, and an
 * empty one counts as `{}`. Answers: 200 + JSON on success (at least `{}`), 400 + `{"Err"}` for a
 * body that does not parse or validate (the driver never sees it), 404 for an unknown method, 413 for
 * an oversized body, 500 + `{"Err"}` for a failed operation. One JSON log line per request, and the
 * same facts handed to an optional {@link CallObserver} (metrics, the page's recent errors).
 *
 * An interface may be served before its implementation exists (a {@link PendingInterface}: its plugin
 * is still reconciling). `Plugin.Activate` answers at once from the interface names; every other call
 * to it is read and parsed, then waits for the implementation (or the refusal `bound()` rejects with).
 *
 * Built on node:http rather than express: the protocol is a fixed table of POST routes whose bodies
 * must be read without regard to Content-Type, so express's router and body parsers would be bypassed
 * anyway; node:http keeps start-up and per-call cost minimal (see bench/protocol-latency.ts).
 */
import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import type { BoundInterface, InterfaceName } from './api.js';
import { BodyTooLargeError, InvalidRequestError, MethodNotAllowedError, PluginError, UnknownMethodError } from './errors.js';
import { describeIssues } from './validate.js';
import { errorFields, type Logger } from '../log.js';

export const CONTENT_TYPE = 'application/vnd.docker.plugins.v1.2+json';
export const DEFAULT_MAX_BODY = 1024 * 1024;

/** An interface whose implementation is still being built: calls to it wait for `bound()`. */
export interface PendingInterface {
  name: InterfaceName;
  /** Resolves with the implementation once ready; rejects with the error to answer (e.g. a PluginError 503). */
  bound(): Promise<BoundInterface>;
}

/**
 * One answered call as it is logged: `ok`, `expected` (a PluginError the protocol's normal flow asks
 * for, see PluginError.expected: logged as a request), `refused` (a PluginError the driver chose: a
 * warning) or `error` (anything else). `call` is `Interface.Method` as requested (any text for a 404).
 */
export interface CallRecord {
  call: string;
  status: number;
  outcome: 'ok' | 'expected' | 'refused' | 'error';
  seconds: number;
  /** The identifying fields of the request, shortened as logged. */
  ids: Record<string, string>;
  err?: string;
}

/** Told of every answered call, after the answer was sent; must be cheap and must not throw. */
export type CallObserver = (call: CallRecord) => void;

/** What a socket serves: interfaces ready now, or ones whose calls wait. */
export type ServedInterface = BoundInterface | PendingInterface;

export interface PluginServerOptions {
  socketPath: string;
  interfaces: ServedInterface[];
  log: Logger;
  /** Largest accepted request body in bytes (default 1 MiB). */
  maxBodyBytes?: number;
  observe?: CallObserver;
}

/** Keys whose values identify the object a request acts on; logged shortened to 12 characters. */
const ID_KEYS = ['NetworkID', 'EndpointID', 'PoolID', 'Name', 'ID', 'Address'] as const;

function shortIds(body: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (body === null || typeof body !== 'object') return out;
  for (const key of ID_KEYS) {
    const v = (body as Record<string, unknown>)[key];
    if (typeof v === 'string' && v !== '') out[key] = key.endsWith('ID') && key !== 'PoolID' ? v.slice(0, 12) : v;
  }
  return out;
}

/**
 * Reads the body, keeping at most `limit` bytes. A longer body is read to its end and dropped before
 * the 413 goes out: answering mid-body would close the connection under the sender, whose write then
 * fails (EPIPE) before it can read why.
 */
function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => (size > limit ? reject(new BodyTooLargeError(limit)) : resolve(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

/** Reads and drops a body nobody will use, so the answer does not close the connection under the sender (see {@link readBody}). */
function drainBody(req: IncomingMessage): Promise<void> {
  return new Promise((resolve) => {
    req.on('end', resolve);
    req.on('error', () => resolve());
    req.resume();
  });
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new InvalidRequestError(`request body is not valid JSON: ${(err as Error).message}`);
  }
}

/** Removes a leftover socket file at `path` if nobody listens on it; refuses to touch anything else. */
async function prepareSocketPath(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  let st;
  try {
    st = await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!st.isSocket()) throw new Error(`${path} exists and is not a socket; refusing to replace it`);
  const live = await new Promise<boolean>((resolve) => {
    const sock = connect(path);
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
  if (live) throw new Error(`another process is already serving ${path}`);
  await unlink(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

export class PluginServer {
  readonly socketPath: string;
  readonly #server: Server;
  readonly #interfaces: Map<string, ServedInterface>;
  readonly #log: Logger;
  readonly #maxBody: number;
  readonly #observe: CallObserver | undefined;
  #closing: Promise<void> | undefined;

  private constructor(opts: PluginServerOptions) {
    this.socketPath = opts.socketPath;
    this.#interfaces = new Map(opts.interfaces.map((i) => [i.name, i]));
    this.#log = opts.log;
    this.#maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY;
    this.#observe = opts.observe;
    this.#server = createServer((req, res) => void this.#handle(req, res));
    // Bytes that are not HTTP (node's parser gave up) still get an {"Err"} body, not node's bare 400.
    this.#server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      if (socket.writable) {
        const json = JSON.stringify({ Err: `malformed HTTP request: ${err.code ?? err.message}` });
        socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: ${CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`);
      } else socket.destroy();
      this.#log.warn('request refused', { status: 400, code: 'ERR_MALFORMED_HTTP', err: err.code ?? err.message });
    });
    this.#server.keepAliveTimeout = 60_000; // dockerd keeps idle connections for 30 s
  }

  /** Starts serving on `socketPath` (mode 0600), replacing a stale socket file. */
  static async listen(opts: PluginServerOptions): Promise<PluginServer> {
    const server = new PluginServer(opts);
    await prepareSocketPath(opts.socketPath);
    const listening = new Promise<void>((resolve, reject) => {
      server.#server.once('error', reject);
      server.#server.once('listening', () => {
        server.#server.off('error', reject);
        resolve();
      });
    });
    // The socket file is created with the umask: make it root-only from its first instant. node:http
    // binds a unix socket synchronously inside listen(), so the umask is restored before any other code runs.
    const oldMask = process.umask(0o177);
    try {
      server.#server.listen(opts.socketPath);
    } finally {
      process.umask(oldMask);
    }
    await listening;
    await chmod(opts.socketPath, 0o600);
    return server;
  }

  /**
   * Stops accepting, lets in-flight requests finish (their connections close after the answer), and
   * removes the socket file (libuv unlinks a listening unix socket when it closes). Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeIdleConnections();
    });
    return this.#closing;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const path = (req.url ?? '').split('?')[0] ?? '';
    let status = 200;
    let payload: object;
    let body: unknown;
    let failure: unknown;
    try {
      if (req.method !== 'POST') {
        await drainBody(req);
        throw new MethodNotAllowedError(req.method);
      }
      const text = await readBody(req, this.#maxBody);
      payload = await this.#dispatch(path, text, (b) => (body = b));
    } catch (err) {
      failure = err;
      status = err instanceof PluginError ? err.status : 500;
      payload = { Err: err instanceof Error ? err.message : String(err) };
    }
    const json = JSON.stringify(payload);
    // Closing: a keep-alive connection would stay idle after this answer and hold close() open.
    if (this.#closing) res.setHeader('Connection', 'close');
    res.writeHead(status, { 'Content-Type': CONTENT_TYPE, 'Content-Length': Buffer.byteLength(json) });
    res.end(json);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const ids = shortIds(body);
    const fields = { call: path.slice(1), ...ids, status, ms: Math.round(ms * 1000) / 1000 };
    // A PluginError is an answer the driver chose (overlap, not found, bad input): a warning. Anything
    // else escaped a driver unexpectedly and is logged with its stack.
    const outcome = failure === undefined ? 'ok' : failure instanceof PluginError ? (failure.expected ? 'expected' : 'refused') : 'error';
    if (outcome === 'ok') this.#log.info('request', fields);
    else if (outcome === 'expected') this.#log.info('request', { ...fields, code: (failure as PluginError).code });
    else if (outcome === 'refused') this.#log.warn('request refused', { ...fields, code: (failure as PluginError).code, err: (failure as PluginError).message });
    else this.#log.error('request failed', { ...fields, ...errorFields(failure) });
    this.#observe?.({ call: fields.call, status, outcome, seconds: ms / 1000, ids, ...(failure !== undefined && { err: (payload as { Err: string }).Err }) });
  }

  async #dispatch(path: string, text: string, seen: (body: unknown) => void): Promise<object> {
    if (path === '/Plugin.Activate') return { Implements: [...this.#interfaces.keys()].filter((n) => !n.startsWith('Tsnet')) };
    const m = /^\/([A-Za-z]+)\.([A-Za-z]+)$/.exec(path);
    const served = m && this.#interfaces.get(m[1]!);
    const unknown = () => new UnknownMethodError(path, [...this.#interfaces.keys()]);
    if (!m || !served) throw unknown();
    const raw = parseJson(text);
    seen(raw);
    const method = ('methods' in served ? served : await served.bound()).methods.get(m[2]!);
    if (!method) throw unknown();
    const parsed = method.schema.safeParse(raw);
    if (!parsed.success) throw new InvalidRequestError(`invalid ${m[1]}.${m[2]} request: ${describeIssues(parsed.error)}`);
    return (await method.handle(parsed.data)) ?? {};
  }
}
