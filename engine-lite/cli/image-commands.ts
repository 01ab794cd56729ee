/**
 * @module `image import/load/ls/inspect/rm` (with docker's top-level shortcuts `import`, `load`,
 * `images`, `rmi`) and the generic `inspect`.
 */
import type { Command } from 'commander';
import type { ImageRecord } from '../state/records.js';
import { collect, engine, forEachRef, printRows, printViews } from './common.js';

/** An image as `docker image inspect` shows it. */
async function imageView(i: ImageRecord): Promise<Record<string, unknown>> {
  const { lowerDirs } = await import('../image/layers.js');
  const c = i.config;
  return {
    Id: `sha256:${i.id}`,
    RepoTags: i.name ? [i.name] : [],
    Created: i.created,
    Size: i.size,
    Config: {
      Cmd: c.cmd ?? null,
      Entrypoint: c.entrypoint ?? null,
      Env: c.env ?? [],
      WorkingDir: c.workdir ?? '',
      User: c.user ?? '',
      ExposedPorts: c.exposedPorts ? Object.fromEntries(c.exposedPorts.map((p) => [p, {}])) : null,
    },
    GraphDriver: { Name: 'overlay', Data: { LowerDir: lowerDirs(engine().state, i).join(':') } },
    RootFS: { Type: 'layers', Layers: (i.layers ?? []).map((d) => `sha256:${d}`) },
  };
}

async function importAction(source: string, name: string, o: { change: string[] }): Promise<void> {
  const { importImage } = await import('../image/import.js');
  const image = await importImage(engine().state, source, name, { changes: o.change, progress: process.stderr });
  process.stdout.write(`sha256:${image.id}\n`);
}

async function loadAction(file: string | undefined, o: { input?: string }): Promise<void> {
  const { loadImages } = await import('../image/load.js');
  const { state } = engine();
  const source = o.input ?? file;
  let spooled: string | undefined;
  try {
    if (source === undefined) {
      // docker load reads stdin without -i: spool it, the archive is read more than once.
      const { createWriteStream } = await import('node:fs');
      const { mkdir } = await import('node:fs/promises');
      const { pipeline } = await import('node:stream/promises');
      // A staging directory, like every entry of images/ that is not an image (it has no image.json).
      spooled = state.stagingDir('stdin');
      await mkdir(spooled, { mode: 0o700 });
      await pipeline(process.stdin, createWriteStream(`${spooled}/archive`, { mode: 0o600 }));
    }
    const result = await loadImages(state, source ?? `${spooled}/archive`, { progress: process.stderr });
    for (const i of result.images) process.stdout.write(i.name ? `Loaded image: ${i.name}\n` : `Loaded image ID: sha256:${i.id}\n`);
  } finally {
    if (spooled) await (await import('node:fs/promises')).rm(spooled, { recursive: true, force: true });
  }
}

async function listAction(o: { quiet?: boolean; format?: string }): Promise<void> {
  const { ago } = await import('../format.js');
  const { formatBytes } = await import('../image/progress.js');
  const { imageUsage } = await import('../image/layers.js');
  const { state } = engine();
  const images = (await state.images.list()).sort((a, b) => b.created.localeCompare(a.created));
  const usage = imageUsage(images, images.some((i) => i.layers) ? await state.layers.list() : []);
  const rows = images.map((i) => {
    const colon = i.name.lastIndexOf(':');
    const [repo, tag] = i.name ? [i.name.slice(0, colon), i.name.slice(colon + 1)] : ['<none>', '<none>'];
    const u = usage.get(i.id)!;
    return {
      Repository: repo,
      Tag: tag,
      ID: i.id.slice(0, 12),
      CreatedSince: ago(i.created),
      Size: formatBytes(i.size),
      SharedSize: formatBytes(u.shared),
      UniqueSize: formatBytes(u.unique),
      Layers: String(i.layers?.length ?? 1),
    };
  });
  await printRows(rows, o.quiet ? '{{.ID}}' : o.format, [
    ['REPOSITORY', 'Repository'],
    ['TAG', 'Tag'],
    ['IMAGE ID', 'ID'],
    ['CREATED', 'CreatedSince'],
    ['SIZE', 'Size'],
    ['SHARED SIZE', 'SharedSize'],
    ['UNIQUE SIZE', 'UniqueSize'],
  ]);
}

async function removeAction(refs: string[]): Promise<void> {
  const { removeImage } = await import('../image/images.js');
  await forEachRef(refs, async (r) => {
    await removeImage(engine().state, r);
  });
}

const KINDS = ['container', 'image', 'network', 'volume'] as const;

/** One object of any kind for the generic `inspect` (docker's order: container, image, network, volume). */
async function inspectAny(ref: string, only: string | undefined): Promise<unknown> {
  const e = engine();
  const lookups: Record<(typeof KINDS)[number], () => Promise<unknown>> = {
    container: async () => {
      const { findContainer } = await import('../container/control.js');
      const { inspectContainer } = await import('../container/inspect.js');
      const c = await findContainer(e, ref);
      const nets = new Map((await e.state.networks.list()).map((n) => [n.id, n]));
      return inspectContainer(e, c, nets);
    },
    image: async () => imageView(await (await import('../image/images.js')).findImage(e.state, ref)),
    network: async () => {
      const { findNetwork } = await import('../network/networks.js');
      const { inspectNetwork } = await import('../network/network-view.js');
      return inspectNetwork(await findNetwork(e, ref), await e.state.containers.list());
    },
    volume: async () => (await import('../volume/volumes.js')).inspectVolume(e, ref),
  };
  for (const kind of KINDS) {
    if (only !== undefined && only !== kind) continue;
    try {
      return await lookups[kind]();
    } catch (err) {
      if ((err as { code?: string }).code !== 'ERR_ENGINE_NOT_FOUND') throw err;
    }
  }
  const { EngineNotFoundError } = await import('../errors.js');
  throw new EngineNotFoundError(`No such object: ${ref}`);
}

/** Adds the image commands and the generic `inspect` to `program`. */
export function addImageCommands(program: Command): void {
  const image = program.command('image').description('Manage images');
  for (const [parent, name] of [[image, 'import'], [program, 'import']] as const) {
    parent
      .command(name)
      .description('Import a root filesystem tarball (plain or gzip) or a directory (used in place) as an image')
      .argument('<file|dir>')
      .argument('<name>', 'repository[:tag]')
      .option('-c, --change <instruction>', 'apply a CMD, ENTRYPOINT, ENV or WORKDIR instruction', collect, [])
      .action(importAction);
  }
  for (const cmd of [image.command('load'), program.command('load')]) {
    cmd
      .description('Load images from a docker save archive (tar, plain or gzip, or unpacked) or an OCI image layout (directory or tar)')
      .argument('[file|dir]', 'the archive (or use -i; default: standard input)')
      .option('-i, --input <file|dir>', 'read from this archive instead of standard input')
      .action(loadAction);
  }
  for (const cmd of [image.command('ls').alias('list'), program.command('images')]) {
    cmd
      .description('List images, with the bytes each shares with other images (layers two or more list) and the bytes only it uses')
      .option('-q, --quiet', 'only show image IDs')
      .option('--format <template>', 'Go-template subset: {{.Repository}}, {{.Tag}}, {{.ID}}, {{.Size}}, {{.SharedSize}}, {{.UniqueSize}}, {{.Layers}}')
      .action(listAction);
  }
  image.command('rm').alias('remove').description('Remove images').argument('<image...>').action(removeAction);
  image
    .command('prune')
    .description('Remove what killed image commands left behind (staging directories, unrecorded layers, dangling links) and layers no image uses')
    .action(async () => {
      const { freeLayers, removeOrphans } = await import('../image/layers.js');
      const { state } = engine();
      const removed = await state.lock.run(async () => [...(await removeOrphans(state)), ...(await freeLayers(state)).map((d) => state.layerDir(d))]);
      for (const path of removed) process.stdout.write(`Deleted: ${path}\n`);
      process.stdout.write(`Total reclaimed: ${removed.length} item${removed.length === 1 ? '' : 's'}\n`);
    });
  program.command('rmi').description('Remove images').argument('<image...>').action(removeAction);
  image
    .command('inspect')
    .description('Display detailed information on images')
    .option('-f, --format <template>', 'Go-template subset')
    .argument('<image...>')
    .action(async (refs: string[], o: { format?: string }) => {
      const views = [];
      for (const r of refs) views.push(await inspectAny(r, 'image'));
      await printViews(views, o.format);
    });
  program
    .command('inspect')
    .description('Display detailed information on containers, images, networks or volumes')
    .option('-f, --format <template>', 'Go-template subset: {{.State.ExitCode}}, {{json .Mounts}}, …')
    .option('--type <type>', `only this kind (${KINDS.join(', ')})`)
    .argument('<name...>')
    .action(async (refs: string[], o: { format?: string; type?: string }) => {
      const views = [];
      for (const r of refs) views.push(await inspectAny(r, o.type));
      await printViews(views, o.format);
    });
}
