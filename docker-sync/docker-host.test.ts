import { describe, expect, it } from 'vitest';
import { connectionOf } from './docker-host.js';

describe('connectionOf (--docker-host)', () => {
  it('accepts unix and tcp addresses', () => {
    expect(connectionOf('unix:///var/run/docker.sock')).toEqual({ socketPath: '/var/run/docker.sock' });
    expect(connectionOf('tcp://127.0.0.1:2375')).toEqual({ protocol: 'http', host: '127.0.0.1', port: '2375' });
  });

  it('refuses what it cannot use, saying why', () => {
    expect(() => connectionOf('/var/run/docker.sock')).toThrow(/is not a URL/);
    expect(() => connectionOf('unix://')).toThrow(/names no socket path/);
    expect(() => connectionOf('tcp://127.0.0.1')).toThrow(/names no port/);
    expect(() => connectionOf('ssh://host')).toThrow(/unsupported scheme ssh:/);
  });
});
