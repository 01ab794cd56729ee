/**
 * @module An instant volume plugin: the least any v1 volume plugin can do. A bare node:http server on a
 * unix socket in `/tmp/tstest-<hex>/` answers every VolumeDriver call at once from an in-memory map
 * (Mount makes the Mountpoint directory, as `run -v` needs one), and counts the calls it gets. Registered
 * with dockerd through a spec file named `tstest<hex>instant`. bench/volume-bench.ts runs it beside
 * `local` and tsvol: the difference between it and `local` is what dockerd itself charges a plugin
 * (its round trips and bookkeeping), a floor no plugin can go below.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DOCKER_SPEC_DIR } from './plugin-harness.js';

export interface InstantVolumePlugin {
  /** The driver name dockerd knows it by. */
  driver: string;
  /** Calls received per method (`VolumeDriver.Create`, …) since the last {@link InstantVolumePlugin.takeCalls}. */
  takeCalls(): Record<string, number>;
  /** Stops serving and removes the spec file and the temp directory. */
  stop(): Promise<void>;
}

/** Starts the instant plugin and registers it with dockerd. */
export async function startInstantVolumePlugin(): Promise<InstantVolumePlugin> {
  const dir = await mkdtemp(join(tmpdir(), 'tstest-'));
  const driver = `tstest${randomBytes(3).toString('hex')}instant`;
  const socket = join(dir, 'instant.sock');
  const spec = join(DOCKER_SPEC_DIR, `${driver}.spec`);
  const volumes = new Map<string, string>();
  let calls: Record<string, number> = {};
  const mountpoint = (name: string) => join(dir, 'volumes', name);

  const answer = async (call: string, body: { Name?: string }): Promise<[number, object]> => {
    const name = body.Name ?? '';
    switch (call) {
      case 'Plugin.Activate':
        return [200, { Implements: ['VolumeDriver'] }];
      case 'VolumeDriver.Capabilities':
        return [200, { Capabilities: { Scope: 'local' } }];
      case 'VolumeDriver.Create':
        volumes.set(name, new Date().toISOString());
        return [200, {}];
      case 'VolumeDriver.Remove':
        volumes.delete(name);
        return [200, {}];
      case 'VolumeDriver.List':
        return [200, { Volumes: [...volumes.keys()].map((Name) => ({ Name, Mountpoint: mountpoint(Name) })) }];
      case 'VolumeDriver.Unmount':
        return [200, {}];
      case 'VolumeDriver.Mount':
      case 'VolumeDriver.Path':
      case 'VolumeDriver.Get': {
        const created = volumes.get(name);
        if (created === undefined) return [404, { Err: `no volume ${name}` }];
        const Mountpoint = mountpoint(name);
        if (call === 'VolumeDriver.Mount') await mkdir(Mountpoint, { recursive: true });
        return [200, call === 'VolumeDriver.Get' ? { Volume: { Name: name, Mountpoint, CreatedAt: created } } : { Mountpoint }];
      }
      default:
        return [404, { Err: `unknown call ${call}` }];
    }
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const call = (req.url ?? '').slice(1);
      calls[call] = (calls[call] ?? 0) + 1;
      const text = Buffer.concat(chunks).toString('utf8');
      void answer(call, text.trim() === '' ? {} : (JSON.parse(text) as { Name?: string })).then(([status, payload]) => {
        const json = JSON.stringify(payload);
        res.writeHead(status, { 'Content-Type': 'application/vnd.docker.plugins.v1.2+json', 'Content-Length': Buffer.byteLength(json) });
        res.end(json);
      });
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(socket, resolve));
  await mkdir(DOCKER_SPEC_DIR, { recursive: true });
  await writeFile(spec, `unix://${socket}\n`);
  return {
    driver,
    takeCalls() {
      const taken = calls;
      calls = {};
      return taken;
    },
    async stop() {
      await rm(spec, { force: true });
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await rm(dir, { recursive: true, force: true });
    },
  };
}
