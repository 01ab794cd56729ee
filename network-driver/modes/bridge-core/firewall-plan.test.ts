/**
 * The firewall as data: what each change writes, that a change's size does not grow with the number of
 * networks or ports (the flat-cost claim), and that removals are written to succeed whatever exists.
 */
import { describe, expect, it } from 'vitest';
import { validateNftScript } from '../../../common/kernel/nftables.js';
import { validateChain, validateJump } from '../../../common/kernel/firewall-rules.js';
import {
  ACCEPT_MARK,
  addNetworkScript,
  addPortsScript,
  baseScript,
  firewallNames,
  handoff,
  rebuildScript,
  removeNetworkScript,
  removePortsScript,
  type NetworkFirewall,
  type PortRule,
} from './firewall-plan.js';
import { refusal } from '../../../testing/refusal.js';

const n = firewallNames('abc123');
const net = (bridge: string, o: Partial<NetworkFirewall> = {}): NetworkFirewall => ({ bridge, icc: true, internal: false, masquerade: true, ...o });
const port = (hostPort: number, o: Partial<PortRule> = {}): PortRule => ({ family: 4, proto: 'tcp', hostIp: '', hostPort, containerIp: '10.0.0.2', containerPort: 80, ...o });

describe('firewall plan', () => {
  it('names one table and one iptables chain per instance, within iptables limits', () => {
    expect(n).toEqual({ table: 'tsnet-abc123', handoffChain: 'TSNET-BR-abc123' });
    const { chain, jump } = handoff(n);
    validateChain(chain);
    validateJump(jump);
    expect(chain.rules).toEqual([['-m', 'mark', '--mark', '0x01000000/0x01000000', '-j', 'ACCEPT']]);
    expect(jump).toMatchObject({ from: 'FORWARD', position: 'first' });
  });

  it('writes only commands on our own table', () => {
    validateNftScript(baseScript(n));
    validateNftScript(rebuildScript(n, [net('tsbr-1'), net('my.br', { internal: true })], [port(8080), port(53, { proto: 'udp', family: 6, hostIp: '::1', containerIp: 'fd00::2' })]));
    expect(() => validateNftScript(['add table inet filter'])).toThrow(refusal('ERR_KERNEL_ARGUMENT'));
  });

  it('makes the shared part idempotently: every chain is flushed before its rules are added', () => {
    const base = baseScript(n);
    expect(base[0]).toBe('add table inet tsnet-abc123');
    for (const chain of ['forward', 'to_bridge', 'from_bridge', 'prerouting', 'output', 'postrouting', 'publish', 'raw_prerouting']) {
      const flush = base.indexOf(`flush chain inet tsnet-abc123 ${chain}`);
      const firstRule = base.findIndex((l) => l.startsWith(`add rule inet tsnet-abc123 ${chain} `));
      expect(flush).toBeGreaterThan(0);
      expect(firstRule).toBeGreaterThan(flush);
    }
    expect(base).toContain(`add rule inet tsnet-abc123 to_bridge ct state established,related meta mark set meta mark | 0x${ACCEPT_MARK.toString(16).padStart(8, '0')} accept`);
    expect(base).toContain('add rule inet tsnet-abc123 to_bridge drop');
    expect(base).toContain('add rule inet tsnet-abc123 from_bridge oifname "docker0" drop');
  });

  it('describes a network as set elements only, by its settings', () => {
    expect(addNetworkScript(n, net('tsbr-1'))).toEqual([
      'add element inet tsnet-abc123 bridges { "tsbr-1" }',
      'add element inet tsnet-abc123 icc { "tsbr-1" . "tsbr-1" }',
      'add element inet tsnet-abc123 masq { "tsbr-1" }',
    ]);
    expect(addNetworkScript(n, net('tsbr-2', { icc: false, internal: true }))).toEqual([
      'add element inet tsnet-abc123 bridges { "tsbr-2" }',
      'add element inet tsnet-abc123 internal { "tsbr-2" }',
    ]);
    expect(addNetworkScript(n, net('tsbr-3', { masquerade: false }))).not.toContain('add element inet tsnet-abc123 masq { "tsbr-3" }');
  });

  it('removes a network whatever of it exists: add then delete for every element it could have', () => {
    const script = removeNetworkScript(n, 'tsbr-1');
    expect(script).toHaveLength(8);
    for (let i = 0; i < script.length; i += 2) {
      expect(script[i]).toMatch(/^add element /);
      expect(script[i + 1]).toBe(script[i]!.replace(/^add/, 'delete'));
    }
  });

  it('maps ports by (proto . port), or (address . proto . port) for a given host address', () => {
    expect(addPortsScript(n, [port(8080), port(8081, { hostIp: '127.0.0.1' }), port(5353, { family: 6, proto: 'udp', containerIp: 'fd00::2', containerPort: 53 })])).toEqual([
      'add element inet tsnet-abc123 pub4_any { tcp . 8080 : 10.0.0.2 . 80 }',
      'add element inet tsnet-abc123 pub4_ip { 127.0.0.1 . tcp . 8081 : 10.0.0.2 . 80 }',
      'add element inet tsnet-abc123 pub6_any { udp . 5353 : fd00::2 . 53 }',
    ]);
    expect(removePortsScript(n, [port(8080)])).toEqual([
      'add element inet tsnet-abc123 pub4_any { tcp . 8080 : 10.0.0.2 . 80 }',
      'delete element inet tsnet-abc123 pub4_any { tcp . 8080 }',
    ]);
  });

  it('keeps the size of a change independent of how many networks and ports exist', () => {
    // A change never lists existing objects: network N+1 and port N+1 cost what the first did.
    expect(addNetworkScript(n, net('tsbr-999'))).toHaveLength(addNetworkScript(n, net('tsbr-1')).length);
    expect(addPortsScript(n, [port(9999)])).toHaveLength(1);
    const rebuild = rebuildScript(n, Array.from({ length: 3 }, (_, i) => net(`tsbr-${i}`)), [port(1), port(2)]);
    expect(rebuild.slice(0, 2)).toEqual(['add table inet tsnet-abc123', 'delete table inet tsnet-abc123']);
  });
});
