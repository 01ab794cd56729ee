/**
 * @module `--device` as docker reads it (against the host's real /dev nodes), and the device rules
 * a container's cgroup gets.
 */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.js';
import type { ContainerRecord } from '../state/records.js';
import { DOCKER_DEVICE_RULES, deviceRules, parseDevice } from './devices.js';

describe('parseDevice', () => {
  it('reads HOST, HOST:PERMS, HOST:CONTAINER and HOST:CONTAINER:PERMS, with the node’s numbers', async () => {
    expect(await parseDevice('/dev/null')).toEqual({ pathOnHost: '/dev/null', pathInContainer: '/dev/null', permissions: 'rwm', rule: 'c 1:3 rwm' });
    expect(await parseDevice('/dev/zero:r')).toEqual({ pathOnHost: '/dev/zero', pathInContainer: '/dev/zero', permissions: 'r', rule: 'c 1:5 r' });
    expect(await parseDevice('/dev/full:/dev/f')).toMatchObject({ pathInContainer: '/dev/f', rule: 'c 1:7 rwm' });
    expect(await parseDevice('/dev/urandom:/dev/u:rw')).toMatchObject({ pathInContainer: '/dev/u', permissions: 'rw', rule: 'c 1:9 rw' });
  });

  it.each(['/etc/passwd', '/tstest-missing', 'dev/null', '/dev/null:/x:rwx', '/dev/null:relative', '/dev/null:/a:r:w'])('refuses %s', async (spec) => {
    await expect(parseDevice(spec)).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

describe('deviceRules', () => {
  const rec = (host: Partial<ContainerRecord['host']>) => ({ host: { privileged: false, ...host } }) as ContainerRecord;

  it('is docker’s list plus the --device rules, and no restriction when privileged', () => {
    expect(deviceRules(rec({}))).toEqual(DOCKER_DEVICE_RULES);
    expect(deviceRules(rec({ devices: [{ pathOnHost: '/dev/x', pathInContainer: '/dev/x', permissions: 'r', rule: 'c 10:237 r' }] }))?.at(-1)).toBe('c 10:237 r');
    expect(deviceRules(rec({ privileged: true }))).toBeUndefined();
    expect(DOCKER_DEVICE_RULES).toEqual(expect.arrayContaining(['c 1:3 rwm', 'c 136:* rwm', 'c 5:2 rwm', 'b *:* m']));
  });
});
