/**
 * Names as the sources give them: dockerd's running containers per endpoint (name without the slash,
 * aliases, short ID), inspected again only when the list shows them new or changed, engine-lite's joined attachments, its records re-read only when their file
 * changed (in a /tmp/tstest-<hex> state directory written with engine-lite's own store); and the
 * upstream resolvers: `--dns-upstream` values and the host's resolv.conf minus the responder itself.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DockerContainer, DockerContainerSummary } from '../docker-sync/docker-api.js';
import type { ContainerRecord } from '../engine-lite/state/records.js';
import { RecordDir } from '../engine-lite/state/store.js';
import { EngineLiteRecords, namesOfDocker, namesOfEngineLite, planDockerRead, stampOf } from './sources.js';
import { parseUpstream, resolversOf } from './upstreams.js';

const ID = 'abcdef0123456789'.repeat(4);

describe('names from dockerd', () => {
  const container = (running: boolean): DockerContainer => ({
    Id: ID,
    Name: '/web',
    State: { Status: running ? 'running' : 'exited', Running: running, Paused: false, Restarting: false, Error: '', FinishedAt: '' },
    HostConfig: {},
    Mounts: [],
    NetworkSettings: {
      Networks: {
        ov: { NetworkID: 'n1', EndpointID: 'e1', IPAddress: '10.0.0.2', GlobalIPv6Address: '', Aliases: ['www', ID.slice(0, 12)] },
        bridge: { NetworkID: 'n2', EndpointID: '', IPAddress: '' },
      },
    },
  });

  it('gives each endpoint of a running container its name, aliases and short ID', () => {
    expect(namesOfDocker([container(true)])).toEqual([{ networkId: 'n1', endpointId: 'e1', containerId: ID, names: ['web', 'www', ID.slice(0, 12)], ipv4: '10.0.0.2' }]);
  });

  it('gives nothing for a stopped container', () => {
    expect(namesOfDocker([container(false)])).toEqual([]);
  });
});

describe("which of dockerd's containers a names read inspects", () => {
  const listed = (Id: string, State: string, endpoints: Record<string, string> = { ov: `ep-${Id}` }, name = Id): DockerContainerSummary => ({
    Id,
    Names: [`/${name}`],
    State,
    Mounts: [],
    NetworkSettings: { Networks: Object.fromEntries(Object.entries(endpoints).map(([net, EndpointID]) => [net, { NetworkID: `id-${net}`, EndpointID, IPAddress: '10.0.0.2' }])) },
  });

  it('stamps what names depend on: state, name, the endpoint of each network (in any order)', () => {
    const base = listed('a', 'running', { ov: 'e1', bridge: 'e2' });
    expect(stampOf(listed('a', 'running', { bridge: 'e2', ov: 'e1' }))).toBe(stampOf(base));
    for (const changed of [listed('a', 'paused', { ov: 'e1', bridge: 'e2' }), listed('a', 'running', { ov: 'e1', bridge: 'e2' }, 'renamed'), listed('a', 'running', { ov: 'e3', bridge: 'e2' }), listed('a', 'running', { ov: 'e1' })]) {
      expect(stampOf(changed)).not.toBe(stampOf(base));
    }
    expect(stampOf({ ...base, Mounts: [{ Type: 'volume', Name: 'v' }] })).toBe(stampOf(base));
  });

  it('inspects live containers that are new or changed, never idle ones, and forgets gone or stopped ones', () => {
    const list = [listed('same', 'running'), listed('new', 'running'), listed('moved', 'running', { ov: 'e9' }), listed('stopped', 'exited'), listed('idle', 'created'), listed('paused', 'paused')];
    const cached = new Map([
      ['same', stampOf(listed('same', 'running'))],
      ['moved', stampOf(listed('moved', 'running'))],
      ['stopped', stampOf(listed('stopped', 'running'))],
      ['removed', stampOf(listed('removed', 'running'))],
    ]);
    const plan = planDockerRead(cached, list);
    expect(plan.inspect).toEqual([
      { id: 'new', stamp: stampOf(list[1]!) },
      { id: 'moved', stamp: stampOf(list[2]!) },
      { id: 'paused', stamp: stampOf(list[5]!) },
    ]);
    expect(plan.drop.sort()).toEqual(['removed', 'stopped']);
  });

  it('inspects nothing when nothing changed, whatever the number of containers', () => {
    const list = Array.from({ length: 200 }, (_, i) => listed(`c${i}`, i % 2 ? 'running' : 'exited'));
    const cached = new Map(list.filter((c) => c.State === 'running').map((c) => [c.Id, stampOf(c)]));
    expect(planDockerRead(cached, list)).toEqual({ inspect: [], drop: [] });
  });
});

describe('names from engine-lite', () => {
  it('gives joined attachments with aliases and plain addresses', () => {
    const attachment = (endpointId: string, joined: boolean) => ({ networkId: 'n1', endpointId, joined, aliases: ['db'], ipv4: '10.0.0.3/24', ipv6: 'fd00::3/64', ipv4Requested: '', ipv6Requested: '', macRequested: '', driverOpts: {} });
    const c = { id: ID, name: 'pg', attachments: [attachment('e1', true), attachment('e2', false)] } as unknown as ContainerRecord;
    expect(namesOfEngineLite([c])).toEqual([{ networkId: 'n1', endpointId: 'e1', containerId: ID, names: ['pg', 'db', ID.slice(0, 12)], ipv4: '10.0.0.3', ipv6: 'fd00::3' }]);
  });

  describe('records of a state directory', () => {
    const dir = `/tmp/tstest-${randomBytes(4).toString('hex')}`;
    afterEach(() => rm(dir, { recursive: true, force: true }));
    const record = (id: string, name: string) => ({ id, name, attachments: [] }) as unknown as ContainerRecord;

    it('reads every record, then again only the ones replaced, and forgets removed ones', async () => {
      const store = new RecordDir<ContainerRecord>('container', join(dir, 'containers'), 'config.json');
      const records = new EngineLiteRecords(dir);
      expect(await records.containers()).toEqual([]);
      await mkdir(join(dir, 'containers'), { recursive: true });
      for (const id of ['a', 'b', 'c']) await store.put(id, record(id, `n-${id}`));
      const first = await records.containers();
      expect(first.map((r) => r.name).sort()).toEqual(['n-a', 'n-b', 'n-c']);
      await store.put('b', record('b', 'renamed'));
      await store.remove('c');
      const second = await records.containers();
      expect(second.map((r) => r.name).sort()).toEqual(['n-a', 'renamed']);
      // The unchanged record is the object read the first time: not read again.
      expect(second.find((r) => r.id === 'a')).toBe(first.find((r) => r.id === 'a'));
      expect(second.find((r) => r.id === 'b')).not.toBe(first.find((r) => r.id === 'b'));
    });
  });
});

describe('upstream resolvers', () => {
  it('reads IP, IP:PORT and [IPv6]:PORT, and refuses the rest', () => {
    expect(parseUpstream('10.0.0.1')).toEqual({ host: '10.0.0.1', port: 53 });
    expect(parseUpstream('10.0.0.1:5353')).toEqual({ host: '10.0.0.1', port: 5353 });
    expect(parseUpstream('fd00::1')).toEqual({ host: 'fd00::1', port: 53 });
    expect(parseUpstream('[fd00::1]:5353')).toEqual({ host: 'fd00::1', port: 5353 });
    for (const bad of ['dns.example', '10.0.0.1:0', '10.0.0.1:65536', '999.0.0.1', '']) expect(parseUpstream(bad)).toBeUndefined();
  });

  it('takes the nameservers of resolv.conf, minus the responder\'s own address', () => {
    const text = 'search example\nnameserver 169.254.53.53\nnameserver 10.0.0.53\n# nameserver 10.9.9.9\nnameserver fe80::1%eth0\noptions ndots:2\n';
    expect(resolversOf(text, '169.254.53.53')).toEqual([
      { host: '10.0.0.53', port: 53 },
      { host: 'fe80::1%eth0', port: 53 },
    ]);
  });
});
