/**
 * @module Parsing of `--cluster-store`: `etcd://host:port[,host:port…]` to the client endpoints
 * (`http://host:port`), `etcds://…` to `https://host:port` (etcd with TLS). Pure; the only schemes are
 * etcd and etcds (Docker's old `consul://` and `zk://` are refused).
 */
import { isIP } from 'node:net';

/** etcd's registered client port, used when an endpoint names none. */
const DEFAULT_PORT = 2379;
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * Turns a cluster store URL into etcd endpoints.
 * @example parseClusterStore('etcd://10.0.0.1:2379,[fd00::1]:2379') // ['http://10.0.0.1:2379', 'http://[fd00::1]:2379']
 * @example parseClusterStore('etcds://etcd-1:2379') // ['https://etcd-1:2379']
 * @throws Error naming what is wrong (scheme, host, port) and the expected form.
 */
export function parseClusterStore(url: string): string[] {
  const form = 'expected etcd://host:port[,host:port…], or etcds://… for TLS';
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/.exec(url.trim());
  if (!m) throw new Error(`invalid cluster store "${url}": ${form}`);
  const [, scheme = '', rest = ''] = m;
  const web = { etcd: 'http', etcds: 'https' }[scheme.toLowerCase()];
  if (web === undefined) throw new Error(`invalid cluster store "${url}": only etcd:// and etcds:// are supported (${form})`);
  const hosts = rest.replace(/\/$/, '').split(',');
  return hosts.map((h) => `${web}://${endpoint(h.trim(), url, form)}`);
}

/** `host:port` of one endpoint of `url`. */
function endpoint(text: string, url: string, form: string): string {
  const bad = (why: string) => new Error(`invalid cluster store "${url}": ${why} (${form})`);
  if (text === '') throw bad('empty endpoint');
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d+))?$/.exec(text);
  if (!m) throw bad(`"${text}" is not host:port (write IPv6 addresses in brackets)`);
  const [, v6, name = '', portText] = m;
  if (v6 !== undefined && isIP(v6) !== 6) throw bad(`"${v6}" is not an IPv6 address`);
  if (v6 === undefined && isIP(name) !== 4 && !HOSTNAME.test(name)) throw bad(`"${name}" is not a host name or IPv4 address`);
  const port = portText === undefined ? DEFAULT_PORT : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad(`port ${portText} is out of range`);
  return `${v6 !== undefined ? `[${v6}]` : name}:${port}`;
}
