/**
 * @module Layered images end to end: `docker build` makes a multi-layer image FROM the busybox test image (a
 * file added in one layer, changed in the next, deleted in a third; a directory replaced, which
 * overlay2 saves as an opaque directory; ENV, WORKDIR, CMD, EXPOSE), `docker save` exports it, and
 * engine-lite loads it, from the docker archive and from an OCI image layout made of it by the
 * converter below (Debian 12 has no skopeo in its default install). A container of each must see what
 * `docker run` of the image sees: every path with type, mode, owner and size, every file's checksum,
 * the environment, the working directory and the default command's output. Also: a second image on
 * the same base adds only its own layer to the store (measured on disk), corrupt and truncated
 * archives are refused leaving the store as it was, and `image rm` frees only unshared layers.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { engineLiteRuntime, type EngineLiteRuntime } from '../testing/docker/engine-lite-runtime.js';
import { mustRun, tryRun } from '../testing/system.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('engine-lite image tests skipped: they need root (dockerd, overlay mounts)');

const tag = randomBytes(3).toString('hex');
const IMAGE = `tstest-layers-${tag}:1`;
const IMAGE2 = `tstest-layers2-${tag}:1`;
const OCI_NAME = `tstest-oci-${tag}:1`;

let work: string;
let el: EngineLiteRuntime | undefined;
const built: string[] = [];

/**
 * Paths the runtimes make themselves, not part of the image: the /etc files both bind over, and what
 * docker's init layer adds (`/.dockerenv`, `/etc/mtab` → /proc/mounts), which engine-lite does not.
 */
const RUNTIME_MADE = new Set(['/.dockerenv', '/etc/mtab', '/etc/hostname', '/etc/hosts', '/etc/resolv.conf']);

/** What a container sees: working directory, environment (HOSTNAME aside), every path, every file's md5. */
const PROBE = [
  'echo "cwd=$(pwd)"',
  'env | grep -v "^HOSTNAME=" | sort',
  'find / -xdev | sort | while read -r p; do stat -c "%n|%F|%a|%u:%g|%s" "$p"; done',
  'find / -xdev -type f | sort | xargs md5sum',
].join('; echo ---; ');

const view = (out: string) =>
  out
    .split('\n')
    .filter((l) => l !== '' && !RUNTIME_MADE.has(l.split(/[| ]/)[0]!) && !RUNTIME_MADE.has(l.split(/\s+/)[1] ?? ''));

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** Writes an OCI image layout of the unpacked docker save in `saved` to `dir`, its layers gzipped. */
async function toOciLayout(saved: string, dir: string, name: string): Promise<void> {
  const [entry] = JSON.parse(await readFile(join(saved, 'manifest.json'), 'utf8')) as { Config: string; Layers: string[] }[];
  await mkdir(join(dir, 'blobs/sha256'), { recursive: true });
  const blob = async (data: Buffer | string) => {
    const d = sha(data);
    await writeFile(join(dir, 'blobs/sha256', d), data);
    return { digest: `sha256:${d}`, size: Buffer.byteLength(data) };
  };
  const config = await blob(await readFile(join(saved, entry!.Config)));
  const layers = [];
  for (const l of entry!.Layers) layers.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...(await blob(gzipSync(await readFile(join(saved, l))))) });
  const manifest = await blob(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers }));
  await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const annotations = { 'io.containerd.image.name': name, 'org.opencontainers.image.ref.name': name.split(':')[1] };
  await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations }] }));
}

/** Bytes on disk below `dir` (du). */
const diskBytes = async (dir: string) => Number((await mustRun(['du', '-sb', dir])).stdout.split('\t')[0]);

beforeAll(async () => {
  if (!isRoot) return;
  work = await mkdtemp('/tmp/tstest-');
  await mkdir(join(work, 'plugins'));
  el = await engineLiteRuntime({ pluginsDir: join(work, 'plugins') });
  const base = inject('testImage');
  const ctx = join(work, 'ctx');
  await mkdir(ctx);
  await writeFile(
    join(ctx, 'Dockerfile'),
    [
      `FROM ${base}`,
      'RUN mkdir -p /data/opq && echo v1 > /data/a && echo v1 > /data/b && echo old > /data/opq/old && echo x > /data/gone',
      'RUN echo v2 > /data/a && echo v2 > /data/b && rm /data/gone',
      'RUN rm /data/a && rm -rf /data/opq && mkdir /data/opq && echo new > /data/opq/new',
      'ENV GREETING=hello PATH=/bin:/usr/bin',
      'WORKDIR /work/dir',
      'EXPOSE 8080/tcp',
      'CMD ["sh", "-c", "echo from-cmd $GREETING in $(pwd)"]',
    ].join('\n'),
  );
  const build = (t: string, dir: string) => mustRun(['docker', 'build', '-q', '--network', 'none', '-t', t, dir], { env: { ...process.env, DOCKER_BUILDKIT: '0' }, timeoutMs: 120_000 });
  await build(IMAGE, ctx);
  built.push(IMAGE);
  const ctx2 = join(work, 'ctx2');
  await mkdir(ctx2);
  await writeFile(join(ctx2, 'Dockerfile'), `FROM ${IMAGE}\nRUN echo two > /data/two\n`);
  await build(IMAGE2, ctx2);
  built.push(IMAGE2);
  await mustRun(['docker', 'save', '-o', join(work, 'one.tar'), IMAGE]);
  await mustRun(['docker', 'save', '-o', join(work, 'two.tar'), IMAGE2]);
  await mkdir(join(work, 'one.d'));
  await mustRun(['tar', '-C', join(work, 'one.d'), '-xf', join(work, 'one.tar')]);
  await toOciLayout(join(work, 'one.d'), join(work, 'oci'), OCI_NAME);
  await mustRun(['tar', '-C', join(work, 'oci'), '-cf', join(work, 'oci.tar'), '.']);
});

afterAll(async () => {
  await el?.cleanup();
  for (const i of built.reverse()) await tryRun(['docker', 'rmi', '-f', i]);
  if (work) await rm(work, { recursive: true, force: true });
});

describe.skipIf(!isRoot)('engine-lite layered images', () => {
  const store = () => join(el!.stateDir, 'layers');
  const snapshot = async () => ({
    images: (await readdir(join(el!.stateDir, 'images'))).sort(),
    layers: (await readdir(store())).sort(),
    links: (await readdir(join(el!.stateDir, 'l'))).sort(),
  });

  it('refuses a truncated or corrupt docker save archive and keeps nothing', async () => {
    const before = await snapshot();
    const size = (await stat(join(work, 'one.tar'))).size;
    const cut = join(work, 'cut.tar');
    await writeFile(cut, (await readFile(join(work, 'one.tar'))).subarray(0, Math.floor(size * 0.6)));
    const r1 = await el!.cli(['image', 'load', '-i', cut]);
    expect(r1.code).not.toBe(0);
    expect(r1.stderr).toMatch(/not a readable tar archive \(truncated or corrupt\?\)|is missing/);
    // One byte changed inside the data of a layer of the unpacked archive.
    const corrupt = join(work, 'corrupt.d');
    await mustRun(['cp', '-a', join(work, 'one.d'), corrupt]);
    const [entry] = JSON.parse(await readFile(join(corrupt, 'manifest.json'), 'utf8')) as { Layers: string[] }[];
    const layer = join(corrupt, entry!.Layers[0]!);
    const bytes = await readFile(layer);
    bytes[bytes.length >> 1] = 0xff ^ bytes[bytes.length >> 1]!;
    await writeFile(layer, bytes);
    const r2 = await el!.cli(['image', 'load', corrupt]);
    expect(r2.code).not.toBe(0);
    expect(r2.stderr).toMatch(/layer 1\/\d+ of .* has diff ID sha256:[0-9a-f]{64}, the config says sha256:[0-9a-f]{64}: archive corrupt|cannot be read/);
    const empty = join(work, 'empty.tar');
    await writeFile(empty, Buffer.alloc(0));
    await truncate(empty, 0);
    const r3 = await el!.cli(['load', '-i', empty]);
    expect(r3.code).not.toBe(0);
    expect(await snapshot()).toEqual(before);
  });

  it('loads a docker save archive and runs it with the filesystem, env, cwd and cmd docker shows', async () => {
    // The archive carries the cases under test: a whiteout and an opaque directory.
    const [entry] = JSON.parse(await readFile(join(work, 'one.d/manifest.json'), 'utf8')) as { Layers: string[] }[];
    const listing = (await Promise.all(entry!.Layers.map(async (l) => (await mustRun(['tar', '-tf', join(work, 'one.d', l)])).stdout))).join('');
    expect(listing).toMatch(/^(\.\/)?data\/\.wh\.a$/m);
    expect(listing).toMatch(/^(\.\/)?data\/opq\/\.wh\.\.wh\.\.opq$/m);
    expect(await el!.ok(['image', 'load', '-i', join(work, 'one.tar')])).toBe(`Loaded image: ${IMAGE}\n`);
    const docker = await mustRun(['docker', 'run', '--rm', '--network', 'none', IMAGE, 'sh', '-c', PROBE]);
    const mine = await el!.ok(['run', '--rm', '--network', 'none', IMAGE, 'sh', '-c', PROBE]);
    expect(view(mine)).toEqual(view(docker.stdout));
    expect(mine).toContain('cwd=/work/dir');
    expect(mine).toContain('GREETING=hello');
    expect(mine).toContain('/data/opq/new|regular file|644');
    expect(mine).not.toContain('/data/a|');
    expect(mine).not.toContain('/data/opq/old');
    expect(mine).toMatch(/\/data\/b\|regular file\|644\|0:0\|3/);
    const cmdDocker = await mustRun(['docker', 'run', '--rm', '--network', 'none', IMAGE]);
    expect(await el!.ok(['run', '--rm', IMAGE])).toBe(cmdDocker.stdout);
    expect(cmdDocker.stdout).toBe('from-cmd hello in /work/dir\n');
    const inspect = JSON.parse(await el!.ok(['image', 'inspect', IMAGE])) as [{ Config: { ExposedPorts: unknown }; RootFS: { Layers: string[] } }];
    const dockerLayers = (await mustRun(['docker', 'image', 'inspect', '-f', '{{json .RootFS.Layers}}', IMAGE])).stdout;
    expect(inspect[0].RootFS.Layers).toEqual(JSON.parse(dockerLayers));
    expect(inspect[0].Config.ExposedPorts).toEqual({ '8080/tcp': {} });
  });

  it('loads the OCI layout of it (directory and tar), sharing every layer, with the same view', async () => {
    const layersBefore = await snapshot();
    expect(await el!.ok(['image', 'load', join(work, 'oci')])).toBe(`Loaded image: ${OCI_NAME}\n`);
    expect((await snapshot()).layers).toEqual(layersBefore.layers);
    expect(await el!.ok(['load', '-i', join(work, 'oci.tar')])).toBe(`Loaded image: ${OCI_NAME}\n`);
    const docker = await mustRun(['docker', 'run', '--rm', '--network', 'none', IMAGE, 'sh', '-c', PROBE]);
    expect(view(await el!.ok(['run', '--rm', OCI_NAME, 'sh', '-c', PROBE]))).toEqual(view(docker.stdout));
    // Same config digest, so the OCI name went to the same image: one image, the later name.
    expect(await el!.ok(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}'])).toContain(`${OCI_NAME} `);
  });

  it('stores the base of a second image once and frees only its own layer on rm', async () => {
    const disk1 = await diskBytes(store());
    const layers1 = (await snapshot()).layers;
    const saveSize = (await stat(join(work, 'two.tar'))).size;
    expect(await el!.ok(['image', 'load', '-i', join(work, 'two.tar')])).toBe(`Loaded image: ${IMAGE2}\n`);
    const layers2 = (await snapshot()).layers;
    const disk2 = await diskBytes(store());
    expect(layers2.length).toBe(layers1.length + 1);
    // The archive holds every layer again (busybox included); the store grew by the new one only.
    expect(disk2 - disk1).toBeLessThan(64 * 1024);
    expect(saveSize).toBeGreaterThan(disk2 - disk1 + 500_000);
    const rows = (await el!.ok(['images', '--format', '{{.Repository}} {{.Layers}} {{.SharedSize}} {{.UniqueSize}}'])).split('\n');
    const row2 = rows.find((r) => r.startsWith(`tstest-layers2-${tag} `))!.split(' ');
    expect(row2[1]).toBe(String(layers2.length));
    expect(row2[3]).toMatch(/^\d+(\.\d+)?k?B$/); // its one small layer
    console.log(`store: ${disk1} B for image 1 (+OCI name), ${disk2} B with image 2; image 2's save archive: ${saveSize} B`);
    await el!.ok(['rmi', IMAGE2]);
    expect((await snapshot()).layers).toEqual(layers1);
    await el!.ok(['rmi', OCI_NAME]);
    expect((await snapshot()).layers).toEqual([]);
    expect((await snapshot()).links).toEqual([]);
  });
});
