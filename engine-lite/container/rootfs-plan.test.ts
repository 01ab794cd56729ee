import { describe, expect, it } from 'vitest';
import { rootfsSteps } from './rootfs-plan.js';

const etc = { hosts: '/s/hosts', hostname: '/s/hostname', resolv: '/s/resolv.conf' };

describe('rootfsSteps', () => {
  it('builds docker’s mount table: /proc, /dev, read-only /sys, /etc files, then masks', () => {
    const steps = rootfsSteps({ privileged: false, etc, mounts: [] });
    expect(steps[0]).toEqual({ op: 'mount', source: 'proc', fstype: 'proc', target: '/proc', flags: ['nosuid', 'noexec', 'nodev'] });
    expect(steps.find((s) => s.op === 'mount' && s.target === '/dev')).toMatchObject({ flags: ['nosuid', 'nodev'] });
    expect(steps.filter((s) => s.op === 'bind' && s.target.startsWith('/dev/')).map((s) => (s.op === 'bind' ? [s.source, s.target] : []))).toEqual(
      ['null', 'zero', 'full', 'random', 'urandom', 'tty'].map((d) => [`/dev/${d}`, `/dev/${d}`]),
    );
    expect(steps.find((s) => s.op === 'mount' && s.target === '/sys')).toMatchObject({ flags: ['ro', 'nosuid', 'nodev', 'noexec'] });
    expect(steps).toContainEqual({ op: 'bind', source: '/s/hosts', target: '/etc/hosts' });
    expect(steps).toContainEqual({ op: 'mask', path: '/proc/kcore' });
    expect(steps.at(-1)).toEqual({ op: 'readonly', path: '/proc/sysrq-trigger' });
  });

  it('makes the root read-only last with --read-only', () => {
    const steps = rootfsSteps({ privileged: false, readonlyRoot: true, etc, mounts: [] });
    expect(steps.at(-1)).toEqual({ op: 'mount', source: 'none', fstype: 'none', target: '/', flags: ['remount', 'bind', 'ro'] });
    expect(rootfsSteps({ privileged: false, etc, mounts: [] }).some((s) => s.op === 'mount' && s.target === '/')).toBe(false);
  });

  it('mounts parents before children, and masks nothing when privileged', () => {
    const steps = rootfsSteps({
      privileged: true,
      etc,
      mounts: [
        { kind: 'bind', source: '/h/b', destination: '/a/b', readonly: true },
        { kind: 'tmpfs', source: '', destination: '/a', readonly: false, tmpfsOptions: 'size=1m' },
      ],
    });
    const user = steps.slice(-2);
    expect(user).toEqual([
      { op: 'mount', source: 'tmpfs', fstype: 'tmpfs', target: '/a', flags: ['nosuid', 'nodev'], data: 'mode=1777,size=1m' },
      { op: 'bind', source: '/h/b', target: '/a/b', readonly: true },
    ]);
    expect(steps.some((s) => s.op === 'mask')).toBe(false);
    expect(steps.find((s) => s.op === 'mount' && s.target === '/sys')).toMatchObject({ flags: ['nosuid', 'nodev', 'noexec'] });
  });
});
