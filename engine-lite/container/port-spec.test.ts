import { describe, expect, it } from 'vitest';
import { exposedPorts, parseExpose, parsePublish } from './port-spec.js';
import { refusal } from '../../testing/refusal.js';

const b = (Port: number, HostPort: number, HostPortEnd = HostPort, HostIP = '', Proto = 6) => ({ Proto, IP: '', Port, HostIP, HostPort, HostPortEnd });

describe('parsePublish (-p)', () => {
  it('shapes bindings as libnetwork does', () => {
    expect(parsePublish('8080:80')).toEqual([b(80, 8080)]);
    expect(parsePublish('80')).toEqual([b(80, 0, 0)]);
    expect(parsePublish('127.0.0.1::53/udp')).toEqual([b(53, 0, 0, '127.0.0.1', 17)]);
    expect(parsePublish('[::1]:8443:443/sctp')).toEqual([b(443, 8443, 8443, '::1', 132)]);
    expect(parsePublish('8080-8081:80-81')).toEqual([b(80, 8080), b(81, 8081)]);
    expect(parsePublish('8080-8090:80')).toEqual([b(80, 8080, 8090)]);
  });

  it('refuses bad specs', () => {
    expect(() => parsePublish('80/icmp')).toThrow(refusal('ERR_INVALID_ARGUMENT', 'invalid proto'));
    expect(() => parsePublish('8080-8082:80-81')).toThrow(refusal('ERR_INVALID_ARGUMENT', 'invalid ranges'));
    expect(() => parsePublish('x:80:80')).toThrow(refusal('ERR_INVALID_ARGUMENT', 'invalid IP address'));
    expect(() => parsePublish('70000')).toThrow(refusal('ERR_INVALID_ARGUMENT', 'invalid container port'));
  });
});

describe('exposed ports', () => {
  it('lists every published and exposed port once', () => {
    expect(exposedPorts(parsePublish('8080:80'), [...parseExpose('80'), ...parseExpose('90-91/udp')])).toEqual([
      { Proto: 6, Port: 80 },
      { Proto: 17, Port: 90 },
      { Proto: 17, Port: 91 },
    ]);
  });
});
