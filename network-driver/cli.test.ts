/**
 * @module `tsnet status` text: an overlay's line, and the encryption line only an encrypted overlay
 * gets (its key generation and rekey settings, no key material).
 */
import { describe, expect, it } from 'vitest';
import { formatStatus } from './cli.js';
import type { NetworkStatusView } from './admin-api.js';
import type { OverlayStatus } from './modes/overlay/status.js';

const overlay = (extra: Partial<OverlayStatus> = {}): NetworkStatusView => {
  const details: OverlayStatus = {
    vni: 4243,
    vxlan: 'tsvx-9b941ca0d9',
    port: 14947,
    bridge: 'tsbr-9b941ca0d9',
    vtep: '10.0.0.11',
    cluster: 'synced',
    peers: [{ host: 'e02b3cc10b3b7eea', vtep: '10.0.0.12', endpoints: 1 }],
    fdb: [],
    neighbors: [],
    ...extra,
  };
  return { ID: '9b941ca0d9a9'.padEnd(64, '0'), Mode: 'overlay', Options: {}, Subnets: ['10.43.0.0/24'], Endpoints: [], Details: details };
};

describe('formatStatus', () => {
  it('shows an encrypted overlay\'s key generation, accepted keys, rekey settings and port', () => {
    const text = formatStatus(overlay({ encryption: { rekeySeconds: 3600, rekeyBytes: 68719476736, keyGeneration: 3, keysAccepted: 2 } }));
    expect(text.split('\n')).toContain('  encrypted  key generation 3  keys accepted 2  rekey after 3600 s or 68719476736 bytes  vxlan port 14947');
  });

  it('says "-" for the generation before the first key arrived', () => {
    expect(formatStatus(overlay({ encryption: { rekeySeconds: 60, rekeyBytes: 1048576, keysAccepted: 0 } }))).toContain('  encrypted  key generation -  keys accepted 0');
  });

  it('has no encryption line for a cleartext overlay', () => {
    const text = formatStatus(overlay());
    expect(text).toContain('  overlay vni 4243  device tsvx-9b941ca0d9  local VTEP 10.0.0.11  cluster synced');
    expect(text).not.toContain('encrypted');
  });
});
