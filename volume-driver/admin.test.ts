/** Leases for export and import through the admin interface, with the fake host. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError, UnsupportedError } from '../common/protocol/errors.js';
import { createUnitFixture, type UnitFixture } from './testing/fixture-unit.js';
import { refusal } from '../testing/refusal.js';

const ID1 = 'c'.repeat(64);
let fx: UnitFixture;

beforeEach(async () => {
  fx = await createUnitFixture();
  await fx.create('v1');
  await fx.create('tm', { type: 'tmpfs' });
});

afterEach(() => fx.cleanup());

describe('leases', () => {
  it('hands out the data directory and blocks removal until released', async () => {
    fx.host.usage.set(fx.data('v1'), 8192);
    const lease = await fx.admin.acquire({ Name: 'v1', Purpose: 'export', Pid: process.pid });
    expect(lease).toMatchObject({ Mountpoint: fx.data('v1'), UsedBytes: 8192 });
    expect(lease.Lease).toMatch(new RegExp(`^export-${process.pid}-[0-9a-f]{8}$`));
    await expect(fx.driver.remove({ Name: 'v1' })).rejects.toThrow(refusal('ERR_CONFLICT', 'volume "v1" is in use (1 export)'));
    await fx.admin.release({ Name: 'v1', Lease: lease.Lease });
    await expect(fx.admin.release({ Name: 'v1', Lease: lease.Lease })).rejects.toThrow(NotFoundError);
    await expect(fx.driver.remove({ Name: 'v1' })).resolves.toEqual({});
  });

  it('keeps a tmpfs mounted while an export runs after its last container left', async () => {
    await fx.driver.mount({ Name: 'tm', ID: ID1 });
    const { Lease } = await fx.admin.acquire({ Name: 'tm', Purpose: 'export', Pid: process.pid });
    await fx.driver.unmount({ Name: 'tm', ID: ID1 });
    expect(fx.host.mounts.has(fx.data('tm'))).toBe(true);
    await fx.admin.release({ Name: 'tm', Lease });
    expect(fx.host.mounts.has(fx.data('tm'))).toBe(false);
  });

  it('imports only into an empty local volume nothing uses', async () => {
    await expect(fx.admin.acquire({ Name: 'tm', Purpose: 'import', Pid: 1 })).rejects.toThrow(UnsupportedError);
    await fx.driver.mount({ Name: 'v1', ID: ID1 });
    await expect(fx.admin.acquire({ Name: 'v1', Purpose: 'import', Pid: 1 })).rejects.toThrow(refusal('ERR_CONFLICT', 'volume "v1" is in use (1 container mount)'));
    await fx.driver.unmount({ Name: 'v1', ID: ID1 });
    await writeFile(join(fx.data('v1'), 'f'), 'x');
    await expect(fx.admin.acquire({ Name: 'v1', Purpose: 'import', Pid: 1 })).rejects.toThrow(refusal('ERR_CONFLICT'));
    await fx.create('v2');
    const { Lease } = await fx.admin.acquire({ Name: 'v2', Purpose: 'import', Pid: process.pid });
    await expect(fx.admin.acquire({ Name: 'v2', Purpose: 'export', Pid: 1 })).rejects.toThrow(ConflictError);
    await fx.admin.release({ Name: 'v2', Lease });
  });

  it('forgets leases of dead processes when another is asked for', async () => {
    await mkdir(fx.data('v1'), { recursive: true });
    await fx.admin.acquire({ Name: 'v1', Purpose: 'import', Pid: 999_999 });
    fx.host.deadPids.add(999_999);
    await expect(fx.admin.acquire({ Name: 'v1', Purpose: 'export', Pid: process.pid })).resolves.toMatchObject({ Mountpoint: fx.data('v1') });
  });

  it('lets Remove through once the process holding a lease is gone', async () => {
    await fx.admin.acquire({ Name: 'v1', Purpose: 'export', Pid: 999_998 });
    await expect(fx.driver.remove({ Name: 'v1' })).rejects.toThrow(refusal('ERR_CONFLICT', '(1 export)'));
    fx.host.deadPids.add(999_998);
    await expect(fx.driver.remove({ Name: 'v1' })).resolves.toEqual({});
  });

  it('lists every volume with its Status', async () => {
    const { Volumes } = await fx.admin.list({ Fresh: true });
    expect(Volumes.map((v) => [v.Name, v.Status.Type])).toEqual([
      ['tm', 'tmpfs'],
      ['v1', 'local'],
    ]);
  });
});
