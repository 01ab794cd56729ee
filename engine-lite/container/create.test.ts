import { describe, expect, it } from 'vitest';
import type { ImageRecord } from '../state/records.js';
import { buildEnv, type RunRequest } from './create.js';
import { tailLines } from './logs.js';
import { macToBase64 } from '../network/endpoints.js';
import { refusal } from '../../testing/refusal.js';

const image = (env?: string[]): ImageRecord => ({ v: 1, id: 'x', name: 'i:latest', created: '', rootfs: '/', owned: true, size: 0, config: env ? { env } : {} });
const req = (o: Partial<RunRequest>): RunRequest => ({
  image: 'i', command: [], env: [], envFile: [], network: [], networkAlias: [], volume: [], mount: [], tmpfs: [], publish: [], expose: [],
  dns: [], dnsSearch: [], dnsOption: [], addHost: [], capAdd: [], capDrop: [], device: [], securityOpt: [], ...o,
});

describe('buildEnv', () => {
  it('builds the environment as docker does', async () => {
    expect(await buildEnv(image(), req({}), 'h1')).toEqual(['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOSTNAME=h1', 'HOME=/root']);
    const env = await buildEnv(image(['PATH=/x', 'A=1']), req({ tty: true, env: ['A=2', 'FROM_HOST', 'UNSET_HERE', 'B='] }), 'h2', { FROM_HOST: 'yes' });
    expect(env).toEqual(['PATH=/x', 'A=2', 'HOSTNAME=h2', 'TERM=xterm', 'FROM_HOST=yes', 'B=', 'HOME=/root']);
    await expect(buildEnv(image(), req({ env: ['=x'] }), 'h')).rejects.toThrow(refusal('ERR_INVALID_ARGUMENT', 'invalid environment variable: =x'));
  });
});

describe('small conversions', () => {
  it('keeps the last lines of a log', () => {
    const text = Buffer.from('a\nb\nc\n');
    expect(tailLines(text, 2).toString()).toBe('b\nc\n');
    expect(tailLines(text, 0).toString()).toBe('');
    expect(tailLines(text, 9).toString()).toBe('a\nb\nc\n');
    expect(tailLines(text, undefined)).toBe(text);
  });

  it('encodes a MAC as Go encodes a net.HardwareAddr in JSON', () => {
    expect(macToBase64('02:42:0a:14:00:05')).toBe('AkIKFAAF');
  });
});
