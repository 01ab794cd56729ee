/**
 * Kernel xfrm through `ip xfrm`, in throwaway namespaces: the ESP/AES-GCM probe (on a kernel without
 * them it must name what is missing; with them it must pass and leave nothing), policies made, listed
 * and removed idempotently with others' left alone, and ESP states with their keys never read back.
 * State tests need ESP and AES-GCM in the kernel; without them they skip, printing why. Needs root.
 */
import { describe, expect, it } from 'vitest';
import { isRoot, makeTestNetns } from '../../testing/kernel/netns.js';
import { KernelFeatureMissingError } from './errors.js';
import { run } from './exec.js';
import { applyXfrm, listXfrm, REQID_BASE, requireEspAead, stateBytes, type XfrmPolicy } from './xfrm.js';

/** Whether the kernel has ESP with AES-GCM; the reason when not. */
async function espMissing(netns: string): Promise<string | undefined> {
  try {
    await requireEspAead({ netns });
    return undefined;
  } catch (err) {
    if (err instanceof KernelFeatureMissingError) return err.message;
    throw err;
  }
}

const ip = async (netns: string, ...args: string[]) => (await run(['ip', '-n', netns, ...args], { object: 'test', step: 'run' })).stdout;

describe.skipIf(!isRoot)('xfrm (in a throwaway netns)', () => {
  it('probes ESP with AES-GCM: names each missing feature, or passes and leaves no state behind', async () => {
    const ns = await makeTestNetns();
    const missing = await espMissing(ns);
    const crypto = await run(['cat', '/proc/crypto'], { object: 'crypto', step: 'read' });
    if (missing !== undefined) {
      expect(missing).toMatch(/encrypted overlays need .*(IPsec ESP \(CONFIG_INET_ESP|rfc4106\(gcm\(aes\)\) \(CONFIG_CRYPTO_GCM\))/);
      // The kernel agrees: an ESP state cannot be made at all.
      await expect(ip(ns, 'xfrm', 'state', 'add', 'src', '192.0.2.1', 'dst', '192.0.2.2', 'proto', 'esp', 'spi', '0x1000', 'mode', 'transport', 'enc', 'cbc(aes)', `0x${'11'.repeat(16)}`)).rejects.toThrow();
    } else {
      expect(crypto.stdout).toMatch(/gcm\(aes\)/);
    }
    expect(await ip(ns, 'xfrm', 'state', 'list')).toBe('');
  });

  it('makes, lists and removes policies of our reqids, idempotently, leaving others alone', async () => {
    const ns = await makeTestNetns();
    const out: XfrmPolicy = { src: '10.77.0.1', dst: '10.77.0.2', dport: 14877, dir: 'out', reqid: REQID_BASE | 77 };
    const inn: XfrmPolicy = { src: '10.77.0.2', dst: '10.77.0.1', dport: 14877, dir: 'in', reqid: REQID_BASE | 77 };
    await ip(ns, 'xfrm', 'policy', 'add', 'src', '10.77.0.1/32', 'dst', '10.77.0.9/32', 'proto', 'udp', 'dport', '500', 'dir', 'out', 'tmpl', 'proto', 'esp', 'reqid', '5', 'mode', 'transport');
    const block: XfrmPolicy = { src: '10.77.0.1', dst: '0.0.0.0/0', dport: 14877, dir: 'out', reqid: REQID_BASE | 77, block: true };
    await applyXfrm([{ add: 'policy', policy: out }, { add: 'policy', policy: inn }, { add: 'policy', policy: block }], { netns: ns });
    await applyXfrm([{ add: 'policy', policy: out }], { netns: ns }); // again: an update
    expect((await listXfrm({ netns: ns })).policies).toEqual(expect.arrayContaining([out, inn, block]));
    expect((await listXfrm({ netns: ns })).policies).toHaveLength(3);
    await applyXfrm([{ del: 'policy', policy: out }, { del: 'policy', policy: inn }, { del: 'policy', policy: block }], { netns: ns });
    await applyXfrm([{ del: 'policy', policy: out }], { netns: ns }); // already gone: fine
    expect((await listXfrm({ netns: ns })).policies).toEqual([]);
    expect(await ip(ns, 'xfrm', 'policy', 'list')).toMatch(/dport 500/);
  });

  it('makes ESP states, lists them without their keys, reads their counters, removes them', async (t) => {
    const ns = await makeTestNetns();
    const missing = await espMissing(ns);
    if (missing !== undefined) {
      console.warn(`skipped: ${missing}`);
      t.skip();
    }
    const key = 'ab'.repeat(36);
    const state = { src: '10.77.0.1', dst: '10.77.0.2', spi: 0x1234_5678, reqid: REQID_BASE | 77 };
    await applyXfrm([{ add: 'state', state: { ...state, key } }], { netns: ns });
    expect((await listXfrm({ netns: ns })).states).toEqual([state]);
    expect(JSON.stringify(await listXfrm({ netns: ns }))).not.toContain(key);
    expect((await stateBytes({ netns: ns })).get(state.spi)).toBe(0);
    await applyXfrm([{ del: 'state', state }, { del: 'state', state }], { netns: ns });
    expect((await listXfrm({ netns: ns })).states).toEqual([]);
  });
});
