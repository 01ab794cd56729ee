import { describe, expect, it } from 'vitest';
import { decide, type Holdings } from './decide.js';
import type { Reference } from './reference.js';

const OLD = '2025-01-01T00:00:00.000Z';
const CUTOFF = '2025-01-01T00:10:00.000Z';
const NEW = '2025-01-01T00:10:00.001Z';

const ref = (r: { networks?: string[]; endpoints?: string[]; volumesInUse?: string[] } = {}): Reference => ({
  networks: new Set(r.networks ?? []),
  endpoints: new Set(r.endpoints ?? []),
  use: { subnets: [], addresses: [] },
  volumesInUse: new Set(r.volumesInUse ?? []),
});

describe('decide (what agreement releases)', () => {
  it('releases an endpoint the reference forgot and keeps the ones it knows', () => {
    const held: Holdings = {
      networks: [{ id: 'n1', since: OLD, endpoints: [{ id: 'e1', joined: true, since: OLD }, { id: 'e2', joined: false, since: OLD }] }],
      volumes: [],
    };
    expect(decide(held, ref({ networks: ['n1'], endpoints: ['e2'] }), CUTOFF)).toEqual({
      actions: [{ kind: 'endpoint', networkId: 'n1', endpointId: 'e1', joined: true, reason: 'endpoint unknown to the reference' }],
      heldBack: 0,
    });
  });

  it('releases every endpoint of a forgotten network, then the network', () => {
    const held: Holdings = { networks: [{ id: 'n1', since: OLD, endpoints: [{ id: 'e1', joined: true, since: NEW }] }], volumes: [] };
    const { actions } = decide(held, ref({ endpoints: ['e1'] }), CUTOFF);
    expect(actions.map((a) => a.kind)).toEqual(['endpoint', 'network']);
    expect(actions[1]).toEqual({ kind: 'network', networkId: 'n1', reason: 'network unknown to the reference' });
  });

  it('never touches what was first seen at or after the cut-off (a create in flight), and counts it as held back', () => {
    const held: Holdings = {
      networks: [
        { id: 'young', since: CUTOFF, endpoints: [] },
        { id: 'n1', since: OLD, endpoints: [{ id: 'e-young', joined: false, since: NEW }] },
      ],
      volumes: [{ name: 'v', mounts: [{ id: 'm-young', count: 1, since: NEW }] }],
    };
    expect(decide(held, ref({ networks: ['n1'] }), CUTOFF)).toEqual({ actions: [], heldBack: 3 });
  });

  it('releases every mount ID of a volume no live container uses, with its count, and keeps a used volume whole', () => {
    const held: Holdings = {
      networks: [],
      volumes: [
        { name: 'idle', mounts: [{ id: 'a', count: 2, since: OLD }, { id: 'b', count: 1, since: OLD }] },
        { name: 'used', mounts: [{ id: 'c', count: 1, since: OLD }, { id: 'stale', count: 1, since: OLD }] },
        { name: 'empty', mounts: [] },
      ],
    };
    expect(decide(held, ref({ volumesInUse: ['used'] }), CUTOFF).actions).toEqual([
      { kind: 'mount', volume: 'idle', mountId: 'a', count: 2, reason: 'no live container uses the volume' },
      { kind: 'mount', volume: 'idle', mountId: 'b', count: 1, reason: 'no live container uses the volume' },
    ]);
  });

  it('releases nothing when the reference knows everything', () => {
    const held: Holdings = {
      networks: [{ id: 'n1', since: OLD, endpoints: [{ id: 'e1', joined: true, since: OLD }] }],
      volumes: [{ name: 'v', mounts: [{ id: 'm', count: 1, since: OLD }] }],
    };
    expect(decide(held, ref({ networks: ['n1'], endpoints: ['e1'], volumesInUse: ['v'] }), CUTOFF)).toEqual({ actions: [], heldBack: 0 });
  });
});
