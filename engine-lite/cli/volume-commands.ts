/**
 * @module `volume create/ls/inspect/rm`, with docker's flags.
 */
import type { Command } from 'commander';
import { collect, engine, forEachRef, keyValues, printRows, printViews } from './common.js';

/** Adds the `volume` command group to `program`. */
export function addVolumeCommands(program: Command): void {
  const volume = program.command('volume').description('Manage volumes');

  volume
    .command('create')
    .description('Create a volume')
    .argument('[name]')
    .option('-d, --driver <driver>', 'volume driver (default tsvol)')
    .option('--name <name>', 'volume name')
    .option('-o, --opt <key=value>', 'driver option', collect, [])
    .option('--label <key=value>', 'label', collect, [])
    .action(async (arg: string | undefined, o: { driver?: string; name?: string; opt: string[]; label: string[] }) => {
      const { ensureVolume } = await import('../volume/volumes.js');
      const v = await ensureVolume(engine(), {
        name: arg ?? o.name,
        driver: o.driver,
        options: keyValues(o.opt, '--opt'),
        labels: keyValues(o.label, '--label'),
      });
      process.stdout.write(`${v.name}\n`);
    });

  volume
    .command('ls')
    .alias('list')
    .description('List volumes (engine-lite\'s and every volume driver\'s)')
    .option('-q, --quiet', 'only display volume names')
    .option('--format <template>', 'Go-template subset: {{.Name}}, {{.Driver}}')
    .action(async (o: { quiet?: boolean; format?: string }) => {
      const { listVolumes } = await import('../volume/volumes.js');
      const rows = (await listVolumes(engine())).map((v) => ({ Driver: v.driver, Name: v.name }));
      await printRows(rows, o.quiet ? '{{.Name}}' : o.format, [
        ['DRIVER', 'Driver'],
        ['VOLUME NAME', 'Name'],
      ]);
    });

  volume
    .command('inspect')
    .description('Display detailed information on volumes')
    .option('-f, --format <template>', 'Go-template subset: {{.Mountpoint}}, …')
    .argument('<volume...>')
    .action(async (names: string[], o: { format?: string }) => {
      const { inspectVolume } = await import('../volume/volumes.js');
      const views = [];
      for (const n of names) views.push(await inspectVolume(engine(), n));
      await printViews(views, o.format);
    });

  volume
    .command('rm')
    .alias('remove')
    .description('Remove volumes')
    .option('-f, --force', 'accepted for compatibility')
    .argument('<volume...>')
    .action(async (names: string[]) => {
      const { removeVolume } = await import('../volume/volumes.js');
      await forEachRef(names, (n) => removeVolume(engine(), n));
    });
}
