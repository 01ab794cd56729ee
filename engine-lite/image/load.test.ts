/**
 * @module Pure parts of image load: docker save manifests, OCI indexes, image configs, shared/unique sizes.
 */
import { describe, expect, it } from 'vitest';
import type { ImageRecord, LayerRecord } from '../state/records.js';
import { imageUsage } from './layers.js';
import { parseDockerManifest, parseImageConfig, parseOciLayout } from './load.js';
import { refusal } from '../../testing/refusal.js';

const h = (c: string) => c.repeat(64);

describe('archive parsing', () => {
  it('reads docker save manifests, old (<id>/layer.tar) and new (blobs/sha256/…) layouts', () => {
    const text = JSON.stringify([
      { Config: `${h('a')}.json`, RepoTags: ['x/y:1'], Layers: ['l1/layer.tar'] },
      { Config: `blobs/sha256/${h('b')}`, RepoTags: null, Layers: [`blobs/sha256/${h('c')}`] },
    ]);
    expect(parseDockerManifest(text)).toEqual([
      { names: ['x/y:1'], config: { path: `${h('a')}.json`, digest: h('a') }, layers: [{ path: 'l1/layer.tar' }] },
      { names: [], config: { path: `blobs/sha256/${h('b')}`, digest: h('b') }, layers: [{ path: `blobs/sha256/${h('c')}`, digest: h('c') }] },
    ]);
    expect(() => parseDockerManifest('{')).toThrow(refusal('ERR_INVALID_ARGUMENT', 'manifest.json: not valid JSON'));
    expect(() => parseDockerManifest('[{"Layers":[]}]')).toThrow(refusal('ERR_INVALID_ARGUMENT', 'manifest.json image 1: no Config'));
  });

  it('follows an OCI index to the manifest for this architecture', async () => {
    const blobs: Record<string, unknown> = {
      'index.json': { manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: `sha256:${h('1')}`, annotations: { 'io.containerd.image.name': 'r/n:t' } }] },
      [`blobs/sha256/${h('1')}`]: {
        manifests: [
          { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${h('2')}`, platform: { architecture: 'arm64', os: 'linux' } },
          { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${h('3')}`, platform: { architecture: 'amd64', os: 'linux' } },
        ],
      },
      [`blobs/sha256/${h('3')}`]: { config: { digest: `sha256:${h('4')}` }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${h('5')}` }] },
    };
    const read = async (p: string) => blobs[p];
    expect(await parseOciLayout(read, 'x64')).toEqual([
      { names: ['r/n:t'], config: { path: `blobs/sha256/${h('4')}`, digest: h('4') }, layers: [{ path: `blobs/sha256/${h('5')}`, digest: h('5') }] },
    ]);
    await expect(parseOciLayout(read, 'ppc64')).rejects.toThrow(refusal('ERR_INVALID_ARGUMENT', 'no image for this machine'));
    blobs[`blobs/sha256/${h('3')}`] = { config: { digest: `sha256:${h('4')}` }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd', digest: `sha256:${h('5')}` }] };
    await expect(parseOciLayout(read, 'x64')).rejects.toThrow(refusal('ERR_INVALID_ARGUMENT', 'tar+zstd is not supported'));
  });

  it('takes the config docker applies and the diff IDs', () => {
    const config = JSON.stringify({
      created: '2026-01-01T00:00:00Z',
      config: { Env: ['A=1'], Cmd: ['sh'], Entrypoint: null, WorkingDir: '/w', User: 'nobody', ExposedPorts: { '80/tcp': {} } },
      rootfs: { type: 'layers', diff_ids: [`sha256:${h('d')}`] },
    });
    expect(parseImageConfig(config, 'c')).toEqual({
      diffIds: [h('d')],
      config: { env: ['A=1'], cmd: ['sh'], workdir: '/w', user: 'nobody', exposedPorts: ['80/tcp'] },
      created: '2026-01-01T00:00:00Z',
    });
    expect(() => parseImageConfig('{"rootfs":{"diff_ids":["md5:x"]}}', 'c')).toThrow(refusal('ERR_INVALID_ARGUMENT', 'unsupported diff ID'));
  });

  it('splits image sizes into shared and unique bytes', () => {
    const img = (id: string, layers?: string[], size = 0) => ({ v: 1, id, name: '', created: '', rootfs: '', owned: true, size, config: {}, ...(layers ? { layers } : {}) }) as ImageRecord;
    const layer = (diffId: string, size: number): LayerRecord => ({ v: 1, diffId, size, created: '' });
    const usage = imageUsage([img('a', ['base', 'x']), img('b', ['base', 'y']), img('c', undefined, 7)], [layer('base', 100), layer('x', 5), layer('y', 6)]);
    expect(Object.fromEntries(usage)).toEqual({ a: { shared: 100, unique: 5 }, b: { shared: 100, unique: 6 }, c: { shared: 0, unique: 7 } });
  });
});
