/**
 * @module `image import/ls/inspect/rm` (with docker's top-level shortcuts `import`, `images`,
 * `rmi`) and the generic `inspect`.
 */
import type { Command } from 'commander';
import type { ImageRecord } from '../state/records.js';
import { collect, engine, forEachRef, printRows, printViews } from './common.js';

/** An image as `docker image inspect` shows it. */
function imageView(i: ImageRecord): Record<string, unknown> {
  return {
    Id: `sha256:${i.id}`,
    RepoTags: i.name ? [i.name] : [],
    Created: i.created,
    Size: i.size,
    Config: { Cmd: i.config.cmd ?? null, Entrypoint: i.config.entrypoint ?? null, Env: i.config.env ?? [], WorkingDir: i.config.workdir ?? '' },
    GraphDriver: { Name: 'overlay', Data: { LowerDir: i.rootfs } },
  };
}

async function importAction(source: string, name: string, o: { change: string[] }): Promise<void> {
  const { importImage } = await import('../image/import.js');
  const image = await importImage(engine().state, source, name, { changes: o.change, progress: process.stderr });
  process.stdout.write(`sha256:${image.id}\n`);
}

async function listAction(o: { quiet?: boolean; format?: string }): Promise<void> {
  const { ago } = await import('../format.js');
  const { formatBytes } = await import('../image/progress.js');
  const images = (await engine().state.images.list()).sort((a, b) => b.created.localeCompare(a.created));
  const rows = images.map((i) => {
    const colon = i.name.lastIndexOf(':');
    const [repo, tag] = i.name ? [i.name.slice(0, colon), i.name.slice(colon + 1)] : ['<none>', '<none>'];
    return { Repository: repo, Tag: tag, ID: i.id.slice(0, 12), CreatedSince: ago(i.created), Size: formatBytes(i.size) };
  });
  await printRows(rows, o.quiet ? '{{.ID}}' : o.format, [
    ['REPOSITORY', 'Repository'],
    ['TAG', 'Tag'],
    ['IMAGE ID', 'ID'],
    ['CREATED', 'CreatedSince'],
    ['SIZE', 'Size'],
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
      if ((err as { code?: string }).code !== 'ERR_NOT_FOUND') throw err;
    }
  }
  const { NotFoundError } = await import('../errors.js');
  throw new NotFoundError(`No such object: ${ref}`);
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
  for (const cmd of [image.command('ls').alias('list'), program.command('images')]) {
    cmd.description('List images').option('-q, --quiet', 'only show image IDs').option('--format <template>', 'Go-template subset: {{.Repository}}, {{.Tag}}, {{.ID}}').action(listAction);
  }
  image.command('rm').alias('remove').description('Remove images').argument('<image...>').action(removeAction);
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
