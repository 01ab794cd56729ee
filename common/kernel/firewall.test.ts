import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { RunOptions } from './exec.js';

// Records the programs the firewall runs instead of running them: the point here is how many
// processes a change costs and what they are fed, not what iptables does with it.
const calls: { argv: readonly string[]; input?: string }[] = [];
let saveOutput = '';

vi.mock('./exec.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('./exec.js')>()),
  run: vi.fn(async (argv: readonly string[], opts: RunOptions) => {
    calls.push({ argv, ...(opts.input === undefined ? {} : { input: opts.input }) });
    return { stdout: argv.some((a) => a.endsWith('-save')) ? saveOutput : '', stderr: '' };
  }),
}));

const { applyChains, ensureJump, deleteChains } = await import('./firewall.js');

const chain = (n: number) => ({ table: 'filter' as const, name: `TSNET-N${n}`, rules: [['-i', `tsbr-${n}`, '-j', 'ACCEPT']] });

describe('firewall batching', () => {
  beforeEach(() => {
    calls.length = 0;
    saveOutput = '';
  });

  it('rewrites one chain with exactly one restore holding only that chain, whatever else exists', async () => {
    saveOutput = `*filter\n${Array.from({ length: 500 }, (_, i) => `:TSNET-N${i} - [0:0]`).join('\n')}\nCOMMIT\n`;
    await applyChains([chain(7)], { family: 4 });
    expect(calls).toEqual([
      { argv: ['iptables-restore', '--noflush', '--wait'], input: '*filter\n:TSNET-N7 - [0:0]\n-F TSNET-N7\n-A TSNET-N7 -i tsbr-7 -j ACCEPT\nCOMMIT\n' },
    ]);
  });

  it('reads one table and writes once for a chain plus its jump, inside the netns', async () => {
    saveOutput = '*filter\n:FORWARD DROP [0:0]\n-A FORWARD -j DOCKER-USER\nCOMMIT\n';
    await applyChains([chain(1)], { family: 6, netns: 'tstest-x', jumps: [{ table: 'filter', from: 'FORWARD', to: 'TSNET-N1', position: 'last' }] });
    expect(calls.map((c) => c.argv.join(' '))).toEqual([
      'ip netns exec tstest-x ip6tables-save -t filter',
      'ip netns exec tstest-x ip6tables-restore --noflush --wait',
    ]);
    expect(calls[1]?.input).toContain('-A FORWARD -j TSNET-N1\nCOMMIT');
  });

  it('only reads when the jump already holds', async () => {
    saveOutput = '*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -j TSNET-NAT\nCOMMIT\n';
    expect(await ensureJump({ table: 'nat', from: 'POSTROUTING', to: 'TSNET-NAT', position: 'first' }, { family: 4 })).toBe(false);
    expect(calls.map((c) => c.argv.join(' '))).toEqual(['iptables-save -t nat']);
  });

  it('does not run restore when no chain to delete exists', async () => {
    saveOutput = '*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n';
    expect(await deleteChains(['TSNET-N1'], { family: 4 })).toEqual([]);
    expect(calls.map((c) => c.argv.join(' '))).toEqual(['iptables-save']);
  });
});
