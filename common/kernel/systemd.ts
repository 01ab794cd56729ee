/**
 * @module systemd, for `tsnet service`: whether systemd runs this machine, and `systemctl` calls
 * (through exec.ts like every program the suite starts).
 */
import { existsSync } from 'node:fs';
import { run } from './exec.js';

/** Whether systemd is the init system here: sd_booted(3)'s test, the directory /run/systemd/system. */
export function systemdIsInit(): boolean {
  return existsSync('/run/systemd/system');
}

/**
 * `systemctl VERB [UNIT…]` (e.g. `daemon-reload`, `enable --now tsnet.service`).
 * @throws CommandError with systemctl's first line of stderr when it fails.
 */
export async function systemctl(args: readonly string[]): Promise<void> {
  await run(['systemctl', ...args], { object: `systemctl ${args.join(' ')}`, step: 'run' });
}
