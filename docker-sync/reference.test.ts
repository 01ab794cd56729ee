import { describe, expect, it } from 'vitest';
import type { ContainerRecord, NetworkRecord } from '../engine-lite/state/records.js';
import type { DockerContainerSummary } from './docker-api.js';
import { referenceOfDocker, referenceOfEngineLite, unionOf } from './reference.js';

const running = (id: string, state: string, volumes: string[]): DockerContainerSummary => ({
  Id: id,
  Names: [`/${id}`],
  State: state,
  Mounts: volumes.map((Name) => ({ Type: 'volume', Name, Driver: 'tsvol' })),
});

describe('references', () => {
  it("reads Docker's networks, endpoints (also those without a sandbox) and the volumes of live containers", () => {
    const ref = referenceOfDocker(
      [
        {
          Id: 'n1',
          Name: 'net',
          Driver: 'tsnet',
          IPAM: { Config: [{ Subnet: '10.9.0.0/24', Gateway: '10.9.0.1' }] },
          Containers: { c1: { EndpointID: 'e1', IPv4Address: '10.9.0.2/24' }, 'ep-e2': { EndpointID: 'e2', IPv4Address: '' } },
        },
      ],
      [running('c1', 'running', ['v1']), running('c2', 'exited', ['v2']), running('c3', 'paused', ['v3']), running('c4', 'restarting', ['v4']), running('c5', 'created', ['v5'])],
    );
    expect([...ref.networks]).toEqual(['n1']);
    expect([...ref.endpoints]).toEqual(['e1', 'e2']);
    expect(ref.use).toEqual({ subnets: ['10.9.0.0/24'], addresses: ['10.9.0.1', '10.9.0.2'] });
    expect([...ref.volumesInUse]).toEqual(['v1', 'v3', 'v4']);
  });

  it("reads engine-lite's records: endpoints named before they are made, mounts while they hold a mount ID", () => {
    const net = { id: 'n2', pools: [{ v6: false, addressSpace: 'l', poolId: 'p', pool: '10.8.0.0/24', subPool: '', gateway: '10.8.0.1/24', aux: { r: '10.8.0.9/24' } }] };
    const c = (endpointId: string, ipv4: string | undefined, mountId: string | undefined) => ({
      attachments: [{ networkId: 'n2', endpointId, ...(ipv4 ? { ipv4 } : {}) }],
      mounts: [{ type: 'volume', source: `vol-${endpointId}`, destination: '/d', readonly: false, ...(mountId ? { mountId } : {}) }],
    });
    const ref = referenceOfEngineLite([net as unknown as NetworkRecord], [c('e3', '10.8.0.3/24', 'm1'), c('e4', undefined, undefined)] as unknown as ContainerRecord[]);
    expect([...ref.networks]).toEqual(['n2']);
    expect([...ref.endpoints]).toEqual(['e3', 'e4']);
    expect(ref.use).toEqual({ subnets: ['10.8.0.0/24'], addresses: ['10.8.0.1', '10.8.0.9', '10.8.0.3'] });
    expect([...ref.volumesInUse]).toEqual(['vol-e3']);
  });

  it('keeps what either reference knows', () => {
    const a = referenceOfDocker([{ Id: 'n1', Name: 'a', Driver: 'tsnet' }], []);
    const b = referenceOfEngineLite([{ id: 'n2', pools: [] } as unknown as NetworkRecord], []);
    expect([...unionOf([a, b]).networks].sort()).toEqual(['n1', 'n2']);
  });
});
