/**
 * @module Parsing `-p`/`--publish` and `--expose` into libnetwork's port shapes (docs/plugin-protocol.md
 * §2.9): `Proto` is the IP protocol number, `HostPort`/`HostPortEnd` a host range, 0/0 for "the
 * plugin picks". Pure.
 */
import { isIP } from 'node:net';
import { InvalidArgumentError } from '../errors.js';
import type { ExposedPort, PortBinding } from '../state/records.js';

const PROTOCOLS: Record<string, number> = { tcp: 6, udp: 17, sctp: 132 };

function parseRange(text: string, what: string, spec: string): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  const start = Number(m?.[1]);
  const end = m?.[2] === undefined ? start : Number(m[2]);
  if (!m || start < 1 || end > 65535 || end < start) throw new InvalidArgumentError(`invalid ${what} "${text}" in port specification "${spec}"`);
  return [start, end];
}

function parseProto(text: string | undefined, spec: string): number {
  const proto = PROTOCOLS[(text ?? 'tcp').toLowerCase()];
  if (proto === undefined) throw new InvalidArgumentError(`invalid proto "${text}" in port specification "${spec}" (tcp, udp, sctp)`);
  return proto;
}

/**
 * Parses one `-p` spec, `[ip:][hostPort[-end]:]containerPort[-end][/proto]` (IPv6 host IPs in
 * brackets), into one binding per container port.
 * @throws InvalidArgumentError
 */
export function parsePublish(spec: string): PortBinding[] {
  const slash = spec.lastIndexOf('/');
  const [body, protoText] = slash > spec.lastIndexOf(']') && slash >= 0 ? [spec.slice(0, slash), spec.slice(slash + 1)] : [spec, undefined];
  const Proto = parseProto(protoText, spec);
  let hostIp = '';
  let rest = body;
  const v6 = /^\[([^\]]+)\]:(.*)$/.exec(body);
  if (v6) {
    hostIp = v6[1]!;
    rest = v6[2]!;
  } else if (body.split(':').length === 3) {
    hostIp = body.slice(0, body.indexOf(':'));
    rest = body.slice(body.indexOf(':') + 1);
  }
  if (hostIp !== '' && isIP(hostIp) === 0) throw new InvalidArgumentError(`invalid IP address "${hostIp}" in port specification "${spec}"`);
  const parts = rest.split(':');
  if (parts.length > 2) throw new InvalidArgumentError(`invalid port specification "${spec}"`);
  const [hostText, ctrText] = parts.length === 2 ? [parts[0]!, parts[1]!] : ['', parts[0]!];
  const [cStart, cEnd] = parseRange(ctrText, 'container port', spec);
  const [hStart, hEnd] = hostText === '' ? [0, 0] : parseRange(hostText, 'host port', spec);
  const count = cEnd - cStart + 1;
  if (hostText !== '' && count > 1 && hEnd - hStart + 1 !== count) {
    throw new InvalidArgumentError(`invalid ranges specified for container and host ports in "${spec}"`);
  }
  return Array.from({ length: count }, (_, i) => {
    const [HostPort, HostPortEnd] = hostText === '' ? [0, 0] : count > 1 ? [hStart + i, hStart + i] : [hStart, hEnd];
    return { Proto, IP: '', Port: cStart + i, HostIP: hostIp, HostPort, HostPortEnd };
  });
}

/** Parses one `--expose` spec, `port[-end][/proto]`. @throws InvalidArgumentError */
export function parseExpose(spec: string): ExposedPort[] {
  const [range = '', protoText] = spec.split('/');
  const Proto = parseProto(protoText, spec);
  const [start, end] = parseRange(range, 'port', spec);
  return Array.from({ length: end - start + 1 }, (_, i) => ({ Proto, Port: start + i }));
}

/** The exposed ports: every published container port and every `--expose`d one, without repeats. */
export function exposedPorts(bindings: readonly PortBinding[], exposed: readonly ExposedPort[]): ExposedPort[] {
  const seen = new Map<string, ExposedPort>();
  for (const p of [...bindings, ...exposed]) seen.set(`${p.Proto}/${p.Port}`, { Proto: p.Proto, Port: p.Port });
  return [...seen.values()];
}
