/**
 * @module The daemon side of the plugin protocol: POSTs to a plugin's unix socket the way dockerd
 * does (no Content-Type, `Accept: application/vnd.docker.plugins.v1.2+json`, empty body for calls
 * without arguments) and treats a non-200 reply or a non-empty `Err` as failure. Used by engine-lite,
 * the CLI and the tests.
 */
import { request } from 'node:http';

const ACCEPT = 'application/vnd.docker.plugins.v1.2+json';

export interface RawReply {
  status: number;
  text: string;
}

/** A plugin answered with an error (non-200, or `Err` set); `status` and the plugin's text are kept. */
export class PluginCallError extends Error {
  readonly code = 'ERR_PLUGIN_CALL';
  readonly status: number;
  readonly call: string;

  constructor(call: string, status: number, message: string) {
    super(`${call}: ${message}`);
    this.name = 'PluginCallError';
    this.status = status;
    this.call = call;
  }
}

/**
 * Sends `body` (a string sent verbatim; `undefined` = an empty body, as dockerd sends for
 * argument-less calls) to `/<call>` and returns the raw reply. Rejects only on transport errors or
 * when `timeoutMs` passes without a reply.
 */
export function postRaw(socketPath: string, call: string, body: string | undefined, timeoutMs = 60_000): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath,
        method: 'POST',
        path: `/${call}`,
        headers: { Accept: ACCEPT, Host: 'plugin.moby.localhost', 'Content-Length': Buffer.byteLength(body ?? '') },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${call}: no answer from ${socketPath} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body ?? '');
  });
}

/**
 * Calls a plugin method with a JSON request (`undefined` sends an empty body) and returns the decoded
 * reply; throws {@link PluginCallError} when the plugin reports failure, naming the call.
 */
export async function callPlugin<T = Record<string, unknown>>(
  socketPath: string,
  call: string,
  req?: object,
  timeoutMs?: number,
): Promise<T> {
  const reply = await postRaw(socketPath, call, req === undefined ? undefined : JSON.stringify(req) + '\n', timeoutMs);
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(reply.text) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  const err = json?.Err ?? json?.Error;
  if (reply.status !== 200) throw new PluginCallError(call, reply.status, typeof err === 'string' ? err : reply.text);
  if (json === undefined) throw new PluginCallError(call, reply.status, `reply is not JSON: ${reply.text.slice(0, 200)}`);
  if (typeof err === 'string' && err !== '') throw new PluginCallError(call, reply.status, err);
  return json as T;
}
