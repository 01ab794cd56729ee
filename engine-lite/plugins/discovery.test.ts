import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findPlugin, listPluginNames, socketFromUrl } from './discovery.js';
import { refusal } from '../../testing/refusal.js';

let dir: string;
const servers: Server[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tstest-discovery-'));
  await mkdir(join(dir, 'sockets'));
  await mkdir(join(dir, 'etc'));
  await mkdir(join(dir, 'lib'));
});

afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  await rm(dir, { recursive: true, force: true });
});

async function listen(path: string): Promise<void> {
  const s = createServer();
  servers.push(s);
  await new Promise<void>((r) => s.listen(path, r));
}

const opts = () => ({ pluginsDir: join(dir, 'sockets'), specDirs: [join(dir, 'etc'), join(dir, 'lib')] });

describe('findPlugin', () => {
  it('finds sockets first, then spec files in directory order, .spec before .json', async () => {
    await mkdir(join(dir, 'sockets', 'nested'));
    await listen(join(dir, 'sockets', 'flat.sock'));
    await listen(join(dir, 'sockets', 'nested', 'nested.sock'));
    await writeFile(join(dir, 'etc', 'flat.spec'), 'unix:///elsewhere.sock\n');
    await writeFile(join(dir, 'etc', 'spec.json'), '{"Addr": "unix:///from-json.sock"}');
    await writeFile(join(dir, 'etc', 'spec.spec'), ' unix:///from-spec.sock \n');
    await writeFile(join(dir, 'lib', 'late.spec'), 'unix:///late.sock');
    expect(await findPlugin('flat', opts())).toMatchObject({ socket: join(dir, 'sockets', 'flat.sock') });
    expect(await findPlugin('nested', opts())).toMatchObject({ socket: join(dir, 'sockets', 'nested', 'nested.sock') });
    expect(await findPlugin('spec', opts())).toEqual({ name: 'spec', socket: '/from-spec.sock', foundAt: join(dir, 'etc', 'spec.spec') });
    expect(await findPlugin('late', opts())).toMatchObject({ socket: '/late.sock' });
    expect(await findPlugin('missing', opts())).toBeUndefined();
    expect(await findPlugin('../etc/spec', opts())).toBeUndefined();
    expect(await listPluginNames(opts())).toEqual(['flat', 'late', 'nested', 'spec']);
  });

  it('refuses spec addresses it cannot reach, naming the file', () => {
    expect(socketFromUrl('unix:///run/x.sock', 'f')).toBe('/run/x.sock');
    expect(() => socketFromUrl('/run/x.sock', 'f.spec')).toThrow(refusal('ERR_ENGINE', 'Unknown protocol'));
    expect(() => socketFromUrl('tcp://127.0.0.1:9000', 'f.spec')).toThrow(refusal('ERR_ENGINE', 'tcp:// addresses are not supported'));
  });
});
