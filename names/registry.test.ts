/**
 * The registry's rules: an asker sees the names of the networks its container is on (both of two),
 * never another network's; a stranger or an ambiguous address sees none; names that are not DNS
 * names are skipped with one warning; other hosts' entries join their overlay scope and leave it.
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../common/log.js';
import { NameRegistry, type LocalEndpoint } from './registry.js';

function recordingLog() {
  const warnings: string[] = [];
  const log = createLogger({ level: 'error' });
  log.warn = (msg: string) => void warnings.push(msg);
  return { log, warnings };
}

const ep = (containerId: string, scope: string, ipv4: string, names: string[], ipv6?: string): LocalEndpoint => ({
  networkId: scope,
  endpointId: `${containerId}-${scope}`,
  containerId,
  scope,
  names,
  ipv4,
  ...(ipv6 !== undefined && { ipv6 }),
});

describe('NameRegistry', () => {
  const setup = () => {
    const { log, warnings } = recordingLog();
    const r = new NameRegistry({ log, hostId: 'h1' });
    r.setLocal([
      ep('web', 'net:a', '10.1.0.2', ['web', 'www', 'aaaaaaaaaaaa'], 'fd00::2'),
      ep('db', 'net:b', '10.2.0.2', ['db']),
      ep('app', 'net:a', '10.1.0.3', ['app']),
      ep('app', 'net:b', '10.2.0.3', ['app']),
    ]);
    return { r, warnings };
  };

  it('answers names of the asker\'s own network, in the family asked', () => {
    const { r } = setup();
    expect(r.lookup('10.1.0.3', 'web', 4)).toEqual({ addresses: ['10.1.0.2'] });
    expect(r.lookup('10.1.0.3', 'WWW.', 4)).toEqual({ addresses: ['10.1.0.2'] });
    expect(r.lookup('10.1.0.3', 'aaaaaaaaaaaa', 6)).toEqual({ addresses: ['fd00::2'] });
    expect(r.lookup('10.1.0.3', 'app', 6)).toEqual({ addresses: [] });
  });

  it('never answers across networks', () => {
    const { r } = setup();
    expect(r.lookup('10.1.0.2', 'db', 4)).toBeUndefined();
    expect(r.lookup('10.2.0.2', 'web', 4)).toBeUndefined();
    expect(r.reverse('10.2.0.2', '10.1.0.2')).toBeUndefined();
  });

  it('lets a container on two networks see both, from either of its addresses', () => {
    const { r } = setup();
    for (const src of ['10.1.0.3', '10.2.0.3']) {
      expect(r.lookup(src, 'web', 4)).toEqual({ addresses: ['10.1.0.2'] });
      expect(r.lookup(src, 'db', 4)).toEqual({ addresses: ['10.2.0.2'] });
    }
    expect(r.reverse('10.2.0.3', '10.1.0.2')).toEqual(['web']);
  });

  it('shows nothing to a stranger or to an address two containers hold', () => {
    const { r } = setup();
    expect(r.lookup('192.0.2.1', 'web', 4)).toBeUndefined();
    r.setLocal([ep('x', 'net:a', '10.1.0.9', ['x']), ep('y', 'net:c', '10.1.0.9', ['y']), ep('web', 'net:a', '10.1.0.2', ['web'])]);
    expect(r.scopesOfAsker('10.1.0.9').size).toBe(0);
    expect(r.lookup('10.1.0.9', 'web', 4)).toBeUndefined();
  });

  it('skips names that are not DNS names, warning once each', () => {
    const { log, warnings } = recordingLog();
    const r = new NameRegistry({ log, hostId: 'h1' });
    const bad = ['-lead', 'a'.repeat(64), 'sp ace', 'ü', ''];
    for (let i = 0; i < 2; i++) r.setLocal([ep('c', 'net:a', '10.1.0.2', ['ok_name', ...bad]), ep('d', 'net:a', '10.1.0.3', ['d'])]);
    expect(r.lookup('10.1.0.3', 'ok_name', 4)).toEqual({ addresses: ['10.1.0.2'] });
    for (const b of bad.filter((x) => x !== '')) expect(r.lookup('10.1.0.3', b, 4)).toBeUndefined();
    expect(warnings).toHaveLength(bad.length);
  });

  it('adds and removes other hosts\' entries in an overlay scope', () => {
    const { log } = recordingLog();
    const r = new NameRegistry({ log, hostId: 'h1' });
    r.setLocal([ep('me', 'vni:42', '10.9.0.2', ['me'])]);
    r.putRemote('vni:42', 'k1', { names: ['far', 'Bad Name'], ipv4: '10.9.0.7', endpointId: 'e', containerId: 'c', host: 'h2' });
    r.putRemote('vni:43', 'k2', { names: ['other'], ipv4: '10.8.0.7', endpointId: 'e2', containerId: 'c2', host: 'h2' });
    expect(r.lookup('10.9.0.2', 'far', 4)).toEqual({ addresses: ['10.9.0.7'] });
    expect(r.reverse('10.9.0.2', '10.9.0.7')).toEqual(['far']);
    expect(r.lookup('10.9.0.2', 'other', 4)).toBeUndefined();
    expect(r.counts()).toEqual({ local: 1, remote: 2 });
    r.deleteRemote('vni:42', 'k1');
    expect(r.lookup('10.9.0.2', 'far', 4)).toBeUndefined();
  });
});
