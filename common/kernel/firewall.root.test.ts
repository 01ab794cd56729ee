import { describe, expect, it } from 'vitest';
import { isRoot, makeTestNetns } from '../../testing/kernel/netns.js';
import { KernelArgumentError } from './errors.js';
import { run } from './exec.js';
import { applyChains, deleteChains, ensureJump, listChains, type ChainSpec } from './firewall.js';
import { runInNetns } from './netns.js';

async function saved(ns: string, family: 4 | 6 = 4): Promise<string> {
  const { stdout } = await runInNetns(ns, [family === 4 ? 'iptables-save' : 'ip6tables-save']);
  return stdout
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .join('\n');
}

async function rulesOf(ns: string, table: string, chain: string, family: 4 | 6 = 4): Promise<string[]> {
  const { stdout } = await runInNetns(ns, [family === 4 ? 'iptables' : 'ip6tables', '-t', table, '-S', chain]);
  return stdout.split('\n').filter((l) => l.startsWith('-A '));
}

const web = (n: number): ChainSpec => ({
  table: 'filter',
  name: `TSNET-N${n}`,
  rules: [
    ['-s', `10.${n}.0.1`, '-p', 'tcp', '--dport', '80', '-m', 'comment', '--comment', `net "${n}" web`, '-j', 'ACCEPT'],
    ['-j', 'DROP'],
  ],
});

describe.skipIf(!isRoot)('firewall (in a throwaway netns)', () => {
  it('creates chains and replaces their contents atomically, with jumps, in one call', async () => {
    const ns = await makeTestNetns();
    const target = { family: 4 as const, netns: ns };
    const jumps = [{ table: 'filter' as const, from: 'FORWARD', to: 'TSNET-N1', position: 'last' as const, match: ['-i', 'tsbr-1'] }];
    expect(await applyChains([web(1)], { ...target, jumps })).toBe(true);
    expect(await rulesOf(ns, 'filter', 'TSNET-N1')).toEqual([
      '-A TSNET-N1 -s 10.1.0.1/32 -p tcp -m tcp --dport 80 -m comment --comment "net \\"1\\" web" -j ACCEPT',
      '-A TSNET-N1 -j DROP',
    ]);
    expect(await rulesOf(ns, 'filter', 'FORWARD')).toEqual(['-A FORWARD -i tsbr-1 -j TSNET-N1']);

    // Re-applying with other rules replaces them; the jump is not doubled.
    await applyChains([{ ...web(1), rules: [['-j', 'RETURN']] }], { ...target, jumps });
    expect(await rulesOf(ns, 'filter', 'TSNET-N1')).toEqual(['-A TSNET-N1 -j RETURN']);
    expect(await rulesOf(ns, 'filter', 'FORWARD')).toEqual(['-A FORWARD -i tsbr-1 -j TSNET-N1']);
    expect(await ensureJump(jumps[0]!, target)).toBe(false);
  });

  it('keeps a "first" jump first, moving it when something was inserted ahead', async () => {
    const ns = await makeTestNetns();
    const target = { family: 4 as const, netns: ns };
    await applyChains([{ table: 'filter', name: 'TSNET-FWD', rules: [] }], target);
    const jump = { table: 'filter' as const, from: 'FORWARD', to: 'TSNET-FWD', position: 'first' as const };
    expect(await ensureJump(jump, target)).toBe(true);
    expect(await ensureJump(jump, target)).toBe(false);
    await runInNetns(ns, ['iptables', '-I', 'FORWARD', '1', '-j', 'ACCEPT']);
    expect(await ensureJump(jump, target)).toBe(true);
    expect(await rulesOf(ns, 'filter', 'FORWARD')).toEqual(['-A FORWARD -j TSNET-FWD', '-A FORWARD -j ACCEPT']);
  });

  it('applies nat and filter chains in one restore and lists them by prefix', async () => {
    const ns = await makeTestNetns();
    const target = { family: 4 as const, netns: ns };
    await applyChains(
      [web(1), web(2), { table: 'nat', name: 'TSNET-N1', rules: [['-s', '10.1.0.0/24', '!', '-d', '10.1.0.0/24', '-j', 'MASQUERADE']] }],
      { ...target, jumps: [{ table: 'nat', from: 'POSTROUTING', to: 'TSNET-N1', position: 'last' }] },
    );
    const chains = await listChains('TSNET-', target);
    expect(chains.map((c) => `${c.table}/${c.name}/${c.rules.length}`)).toEqual(['filter/TSNET-N1/2', 'filter/TSNET-N2/2', 'nat/TSNET-N1/1']);
    expect(await listChains('TSNET-N2', target)).toHaveLength(1);
  });

  it('deletes chains with the jumps into them, and counts missing chains as deleted', async () => {
    const ns = await makeTestNetns();
    const target = { family: 4 as const, netns: ns };
    await applyChains([web(1), web(2), { table: 'filter', name: 'TSNET-FWD', rules: [['-o', 'tsbr-1', '-j', 'TSNET-N1']] }], {
      ...target,
      jumps: [
        { table: 'filter', from: 'FORWARD', to: 'TSNET-N1', position: 'last', match: ['-i', 'tsbr-1'] },
        { table: 'filter', from: 'FORWARD', to: 'TSNET-FWD', position: 'first' },
      ],
    });
    expect(await deleteChains(['TSNET-N1', 'TSNET-GONE'], target)).toEqual(['filter/TSNET-N1']);
    expect(await rulesOf(ns, 'filter', 'FORWARD')).toEqual(['-A FORWARD -j TSNET-FWD']);
    expect(await rulesOf(ns, 'filter', 'TSNET-FWD')).toEqual([]);
    expect((await listChains('TSNET-', target)).map((c) => c.name)).toEqual(['TSNET-FWD', 'TSNET-N2']);
    expect(await deleteChains(['TSNET-N1'], target)).toEqual([]);
    await deleteChains(['TSNET-FWD', 'TSNET-N2'], target);
    expect(await listChains('TSNET-', target)).toEqual([]);
  });

  it('handles IPv6 through ip6tables-restore', async () => {
    const ns = await makeTestNetns();
    const target = { family: 6 as const, netns: ns };
    await applyChains([{ table: 'filter', name: 'TSNET-V6', rules: [['-s', 'fd00::1', '-j', 'ACCEPT']] }], {
      ...target,
      jumps: [{ table: 'filter', from: 'FORWARD', to: 'TSNET-V6', position: 'first' }],
    });
    expect(await rulesOf(ns, 'filter', 'TSNET-V6', 6)).toEqual(['-A TSNET-V6 -s fd00::1/128 -j ACCEPT']);
    expect(await listChains('TSNET-', { family: 4, netns: ns })).toEqual([]);
    await deleteChains(['TSNET-V6'], target);
    expect(await saved(ns, 6)).not.toContain('TSNET');
  });

  it('leaves the firewall untouched when a rule is rejected (the table commits as a whole)', async () => {
    const ns = await makeTestNetns();
    const target = { family: 4 as const, netns: ns };
    await applyChains([web(1)], target);
    const before = await saved(ns);
    await expect(applyChains([web(2), { table: 'filter', name: 'TSNET-N1', rules: [['-j', 'NO-SUCH-TARGET']] }], target)).rejects.toMatchObject({
      code: 'ERR_KERNEL_COMMAND',
    });
    expect(await saved(ns)).toBe(before);
  });

  it('rejects names it does not own before running anything', async () => {
    await expect(applyChains([{ table: 'filter', name: 'DOCKER-USER', rules: [] }], { family: 4, netns: 'unused' })).rejects.toBeInstanceOf(KernelArgumentError);
    await expect(deleteChains(['FORWARD'], { family: 4, netns: 'unused' })).rejects.toBeInstanceOf(KernelArgumentError);
  });

  it('fails with the chain named when jumping from a user chain that does not exist', async () => {
    const ns = await makeTestNetns();
    await expect(
      ensureJump({ table: 'filter', from: 'TSNET-MISSING', to: 'TSNET-X', position: 'last' }, { family: 4, netns: ns }),
    ).rejects.toThrow(/TSNET-MISSING/);
  });
});

describe.skipIf(!isRoot)('firewall on the host', () => {
  it('is only read, never written, by this suite (leak check for TSNET chains)', async () => {
    const { stdout } = await run(['iptables-save'], { object: 'host firewall', step: 'read' });
    expect(stdout).not.toMatch(/TSNET-N\d|TSNET-V6|TSNET-FWD/);
  });
});
