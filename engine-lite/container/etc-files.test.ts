import { describe, expect, it } from 'vitest';
import { hostsContent, resolvContent } from './etc-files.js';

describe('/etc/hosts', () => {
  it('has docker’s head, --add-host lines and the container’s own addresses', () => {
    const text = hostsContent({ hostname: 'c1', addresses: ['10.0.0.5'], extraHosts: ['db:10.0.0.9'] });
    expect(text.split('\n')).toEqual([
      '127.0.0.1\tlocalhost',
      '::1\tlocalhost ip6-localhost ip6-loopback',
      'fe00::0\tip6-localnet',
      'ff00::0\tip6-mcastprefix',
      'ff02::1\tip6-allnodes',
      'ff02::2\tip6-allrouters',
      '10.0.0.9\tdb',
      '10.0.0.5\tc1',
      '',
    ]);
  });
});

describe('resolv.conf', () => {
  const host = 'nameserver 127.0.0.53\nnameserver 10.1.1.1\nnameserver fd00::1\nsearch example.org\noptions ndots:2\n';

  it('keeps the host’s servers minus loopback (and IPv6 without IPv6)', () => {
    expect(resolvContent(host, { dns: [], search: [], options: [], ipv6: false })).toBe('nameserver 10.1.1.1\nsearch example.org\noptions ndots:2\n');
    expect(resolvContent(host, { dns: [], search: [], options: [], ipv6: true })).toContain('nameserver fd00::1');
  });

  it('falls back to Google’s servers when none is left, and lets flags replace lines', () => {
    expect(resolvContent('nameserver 127.0.0.1\n', { dns: [], search: [], options: [], ipv6: false })).toBe('nameserver 8.8.8.8\nnameserver 8.8.4.4\n');
    expect(resolvContent(host, { dns: ['1.1.1.1'], search: ['a.b'], options: ['rotate'], ipv6: false })).toBe('nameserver 1.1.1.1\nsearch a.b\noptions rotate\n');
  });
});
