import { describe, expect, it } from 'vitest';
import type { DockerContainer } from './docker-api.js';
import { missingDriverIn, whomToHeal } from './heal.js';

const DRIVERS = ['tsnet', 'tsipam', 'tsvol'];

function container(id: string, policy: string, state: Partial<DockerContainer['State']>): DockerContainer {
  return {
    Id: id,
    Name: `/${id}-name`,
    State: { Status: 'exited', Running: false, Paused: false, Restarting: false, Error: '', FinishedAt: '', ...state },
    HostConfig: { RestartPolicy: { Name: policy } },
    Mounts: [],
  };
}

describe('missingDriverIn', () => {
  it("finds our driver in dockerd's plugin errors, as a whole name only", () => {
    expect(missingDriverIn('error looking up volume plugin tsvol: plugin "tsvol" not found', DRIVERS)).toBe('tsvol');
    expect(missingDriverIn('plugin "tsipam" not found', DRIVERS)).toBe('tsipam');
    expect(missingDriverIn('could not find plugin tsnet in v1 plugin registry: plugin not found', DRIVERS)).toBe('tsnet');
    expect(missingDriverIn('plugin "tsnetx" not found', DRIVERS)).toBeUndefined();
    expect(missingDriverIn('plugin "other" not found', DRIVERS)).toBeUndefined();
  });
});

describe('whomToHeal', () => {
  it('picks always/unless-stopped containers whose start failed for lack of our plugin, once', () => {
    const cs = [
      container('a', 'always', { Error: 'plugin "tsipam" not found' }),
      container('b', 'unless-stopped', { Error: 'error looking up volume plugin tsvol: plugin "tsvol" not found' }),
      container('c', 'always', { Error: 'plugin "tsipam" not found' }),
    ];
    expect(whomToHeal(cs, DRIVERS, new Set(['c']))).toEqual([
      { id: 'a', name: 'a-name', driver: 'tsipam', error: 'plugin "tsipam" not found' },
      { id: 'b', name: 'b-name', driver: 'tsvol', error: 'error looking up volume plugin tsvol: plugin "tsvol" not found' },
    ]);
  });

  it('leaves alone what a user stopped, what runs, other policies and other errors', () => {
    const cs = [
      container('stopped-by-user', 'unless-stopped', { Error: '' }),
      container('running', 'always', { Running: true, Status: 'running', Error: 'plugin "tsipam" not found' }),
      container('restarting', 'always', { Restarting: true, Error: 'plugin "tsipam" not found' }),
      container('no-policy', 'no', { Error: 'plugin "tsipam" not found' }),
      container('on-failure', 'on-failure', { Error: 'plugin "tsipam" not found' }),
      container('other-error', 'always', { Error: 'OCI runtime create failed' }),
    ];
    expect(whomToHeal(cs, DRIVERS, new Set())).toEqual([]);
  });
});
