import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_POOLS_FILE, IpamConfigError, readConfig, resolveConfig } from './config.js';
import { formatDefaultPool } from './core/default-pools.js';
import { refusal } from '../testing/refusal.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsipam-config-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('default-pool configuration', () => {
  it("uses Docker's lists and a ULA when nothing is configured", async () => {
    const pools = resolveConfig(await readConfig(dir, {}), 'host');
    expect(pools.LocalDefault.map(formatDefaultPool).slice(0, 2)).toEqual(['172.17.0.0/16:16', '172.18.0.0/16:16']);
    expect(pools.LocalDefault.at(-1)!.base.family).toBe(6);
    expect(pools.GlobalDefault.map(formatDefaultPool)[0]).toBe('10.0.0.0/8:24');
  });

  it('reads the JSON file, and each environment variable overrides its list', async () => {
    await writeFile(join(dir, DEFAULT_POOLS_FILE), JSON.stringify({ local: ['10.128.0.0/9:24'], global: ['10.64.0.0/10:24'] }));
    expect(await readConfig(dir, {})).toEqual({ local: ['10.128.0.0/9:24'], global: ['10.64.0.0/10:24'] });
    expect(await readConfig(dir, { TSIPAM_DEFAULT_POOLS: ' 10.96.0.0/11:24, fd00::/8:64 ' })).toEqual({
      local: ['10.96.0.0/11:24', 'fd00::/8:64'],
      global: ['10.64.0.0/10:24'],
    });
    const pools = resolveConfig(await readConfig(dir, { TSIPAM_GLOBAL_DEFAULT_POOLS: 'docker' }), 'host');
    expect(pools.LocalDefault.map(formatDefaultPool)[0]).toBe('10.128.0.0/9:24');
    expect(pools.GlobalDefault.map(formatDefaultPool)[0]).toBe('10.0.0.0/8:24');
  });

  it('refuses a bad entry or file, naming it, so the plugin does not start on a typo', async () => {
    expect(() => resolveConfig({ local: ['10.128.0.0/9'] }, 'h')).toThrow(refusal('ERR_IPAM_CONFIG', /local default pools: default pool "10.128.0.0\/9"/));
    await writeFile(join(dir, DEFAULT_POOLS_FILE), '{"local": "10.0.0.0/8:24"}');
    await expect(readConfig(dir, {})).rejects.toThrow(refusal('ERR_IPAM_CONFIG', /"local" must be a list of strings/));
    await writeFile(join(dir, DEFAULT_POOLS_FILE), '{');
    await expect(readConfig(dir, {})).rejects.toBeInstanceOf(IpamConfigError);
  });
});
