import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../../common/protocol/errors.js';
import { PORTMAP, readPortBindings } from './ports.js';
import { refusal } from '../../../testing/refusal.js';

describe('readPortBindings', () => {
  it('reads Docker’s port bindings: protocol numbers, host address, single ports, ranges and "any"', () => {
    const options = {
      [PORTMAP]: [
        { Proto: 6, IP: '', Port: 80, HostIP: '', HostPort: 8080, HostPortEnd: 8080 },
        { Proto: 17, IP: '', Port: 53, HostIP: '127.0.0.1', HostPort: 5300, HostPortEnd: 5310 },
        { Proto: 132, Port: 9, HostPort: 0, HostPortEnd: 0 },
      ],
    };
    expect(readPortBindings(options)).toEqual([
      { proto: 'tcp', containerPort: 80, hostIp: '', hostPort: 8080, hostPortEnd: 8080 },
      { proto: 'udp', containerPort: 53, hostIp: '127.0.0.1', hostPort: 5300, hostPortEnd: 5310 },
      { proto: 'sctp', containerPort: 9, hostIp: '', hostPort: 0, hostPortEnd: 0 },
    ]);
    expect(readPortBindings({})).toEqual([]);
    expect(readPortBindings({ [PORTMAP]: null })).toEqual([]);
  });

  it('refuses what is not a binding, naming the field', () => {
    const bad = (b: unknown) => () => readPortBindings({ [PORTMAP]: [b] });
    expect(bad({ Proto: 1, Port: 80 })).toThrow(refusal('ERR_INVALID_REQUEST', 'protocol 1 is not tcp (6), udp (17) or sctp (132)'));
    expect(bad({ Proto: 6, Port: 0 })).toThrow(refusal('ERR_INVALID_REQUEST', 'Port must be a port number, got 0'));
    expect(bad({ Proto: 6, Port: 80, HostPort: 70000 })).toThrow(refusal('ERR_INVALID_REQUEST', 'HostPort must be a port number'));
    expect(bad({ Proto: 6, Port: 80, HostIP: 'localhost' })).toThrow(refusal('ERR_INVALID_REQUEST', 'HostIP "localhost" is not an IP address'));
    expect(bad('8080:80')).toThrow(InvalidRequestError);
    expect(() => readPortBindings({ [PORTMAP]: '8080:80' })).toThrow(refusal('ERR_INVALID_REQUEST', 'must be a list of port bindings'));
  });
});
