import { describe, expect, it } from 'vitest';
import { KernelArgumentError } from './errors.js';
import { normaliseSysctlValue, sysctlPath } from './sysctl.js';

describe('sysctlPath', () => {
  it('maps dotted and slashed keys under /proc/sys', () => {
    expect(sysctlPath('net.ipv4.ip_forward')).toBe('/proc/sys/net/ipv4/ip_forward');
    expect(sysctlPath('net/ipv4/conf/eth0.10/forwarding')).toBe('/proc/sys/net/ipv4/conf/eth0.10/forwarding');
  });

  it.each([['net..ipv4'], ['net/../../etc/passwd'], [''], ['net.ipv4.ip_forward=1'], ['net ipv4']])('rejects %j', (key) => {
    expect(() => sysctlPath(key)).toThrow(KernelArgumentError);
  });
});

describe('normaliseSysctlValue', () => {
  it('makes tab-separated fields one space apart and trims', () => {
    expect(normaliseSysctlValue('1\t0\n')).toBe('1 0');
    expect(normaliseSysctlValue(' 1 \n')).toBe('1');
  });
});
