import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { isRoot, makeTestNetns } from '../../testing/kernel/netns.js';
import { KernelError } from './errors.js';
import { runInNetns } from './netns.js';
import { ensureSysctl, readSysctl, writeSysctl } from './sysctl.js';

const hostValue = async (key: string) => (await readFile(`/proc/sys/${key.replace(/\./g, '/')}`, 'utf8')).trim();

describe.skipIf(!isRoot)('sysctl', () => {
  it('reads this namespace through /proc/sys', async () => {
    expect(await readSysctl('net.ipv4.ip_forward')).toBe(await hostValue('net.ipv4.ip_forward'));
    expect(await readSysctl('net.ipv4.ping_group_range')).toMatch(/^\d+ \d+$/);
    await expect(readSysctl('net.ipv4.no_such_key')).rejects.toBeInstanceOf(KernelError);
  });

  it('reads and writes inside another namespace without touching the host', async () => {
    const ns = await makeTestNetns();
    const hostBefore = await hostValue('net.ipv4.conf.all.rp_filter');
    const fwdBefore = await hostValue('net.ipv4.ip_forward');
    const other = fwdBefore === '1' ? '0' : '1';

    await writeSysctl('net.ipv4.ip_forward', other, { netns: ns });
    expect(await readSysctl('net.ipv4.ip_forward', { netns: ns })).toBe(other);
    const { stdout } = await runInNetns(ns, ['cat', '/proc/sys/net/ipv4/ip_forward']);
    expect(stdout.trim()).toBe(other);

    expect(await ensureSysctl('net.ipv4.conf.all.rp_filter', 2, { netns: ns })).toMatch(/^[0-2]$/);
    expect(await ensureSysctl('net.ipv4.conf.all.rp_filter', '2', { netns: ns })).toBe('2');
    expect(await ensureSysctl('net.ipv4.ping_group_range', '1 1', { netns: ns })).toMatch(/^\d+ \d+$/);
    expect(await readSysctl('net.ipv4.ping_group_range', { netns: ns })).toBe('1 1');

    expect(await hostValue('net.ipv4.ip_forward')).toBe(fwdBefore);
    expect(await hostValue('net.ipv4.conf.all.rp_filter')).toBe(hostBefore);
  });

  it('handles slashed keys for interface names with dots', async () => {
    const ns = await makeTestNetns();
    await runInNetns(ns, ['ip', 'link', 'add', 'v.10', 'type', 'veth', 'peer', 'name', 'v.11']);
    await writeSysctl('net/ipv6/conf/v.10/disable_ipv6', 1, { netns: ns });
    expect(await readSysctl('net/ipv6/conf/v.10/disable_ipv6', { netns: ns })).toBe('1');
    expect(await readSysctl('net/ipv6/conf/v.11/disable_ipv6', { netns: ns })).toBe('0');
  });

  it('names the key and namespace when the kernel refuses', async () => {
    const ns = await makeTestNetns();
    await expect(readSysctl('net.ipv4.no_such_key', { netns: ns })).rejects.toThrow(/net\.ipv4\.no_such_key.*tstest-/);
    await expect(writeSysctl('net.ipv4.conf.all.rp_filter', 'bogus', { netns: ns })).rejects.toBeInstanceOf(KernelError);
  });
});
