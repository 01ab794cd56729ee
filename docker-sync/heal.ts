/**
 * @module Whom to heal, pure: containers dockerd should have running (restart policy `always` or
 * `unless-stopped`) that are not running and whose last start failed because one of our plugins was
 * missing (their `State.Error` names one of our driver names). A container a user stopped has no error
 * (a successful start clears it and `docker stop` sets none), so it is never picked.
 */
import type { DockerContainer } from './docker-api.js';

const HEALED_POLICIES = new Set(['always', 'unless-stopped']);

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The driver among `drivers` that `error` names, if any. */
export function missingDriverIn(error: string, drivers: readonly string[]): string | undefined {
  return drivers.find((d) => new RegExp(`(^|[^A-Za-z0-9_.-])${escape(d)}(?![A-Za-z0-9_.-])`).test(error));
}

export interface HealCandidate {
  id: string;
  name: string;
  driver: string;
  error: string;
}

/** The containers to start, in the given order, leaving out those in `done` (healed once already). */
export function whomToHeal(containers: readonly DockerContainer[], drivers: readonly string[], done: ReadonlySet<string>): HealCandidate[] {
  return containers.flatMap((c) => {
    const s = c.State;
    if (done.has(c.Id) || !HEALED_POLICIES.has(c.HostConfig.RestartPolicy?.Name ?? '')) return [];
    if (s.Running || s.Restarting || s.Paused || s.Error === '') return [];
    const driver = missingDriverIn(s.Error, drivers);
    return driver ? [{ id: c.Id, name: c.Name.replace(/^\//, ''), driver, error: s.Error }] : [];
  });
}
