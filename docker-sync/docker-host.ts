/**
 * @module `--docker-host` values: where dockerd's API is, checked and turned into connection options.
 * Kept apart from the dockerode wrapper so that parsing serve's flags loads no Docker client.
 */

/** Where dockerd's API is unless `--docker-host` / `TSNET_DOCKER_HOST` says otherwise. */
export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

/** How to reach dockerd: a unix socket, or plain HTTP on a TCP port. */
export type DockerConnection = { socketPath: string } | { protocol: 'http'; host: string; port: string };

/** dockerode's connection options for a `--docker-host` value (`unix:///path`, `tcp://host:port`). */
export function connectionOf(host: string): DockerConnection {
  let url: URL;
  try {
    url = new URL(host);
  } catch {
    throw new Error(`docker host "${host}" is not a URL: expected unix:///path/to/docker.sock, tcp://host:port or none`);
  }
  if (url.protocol === 'unix:') {
    if (url.pathname === '' || url.pathname === '/') throw new Error(`docker host "${host}" names no socket path`);
    return { socketPath: decodeURIComponent(url.pathname) };
  }
  if (url.protocol === 'tcp:' || url.protocol === 'http:') {
    if (url.port === '') throw new Error(`docker host "${host}" names no port`);
    return { protocol: 'http', host: url.hostname, port: url.port };
  }
  throw new Error(`docker host "${host}": unsupported scheme ${url.protocol} (use unix:// or tcp://)`);
}
