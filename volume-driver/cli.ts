/**
 * @module `tsnet volume ls|export|import|snapshot|snapshots|rm-snapshot`: asks the running tsvol plugin over its socket (the plugin
 * holds the store's lock) and streams tar archives in this process. Tables for people, `--json` for
 * scripts, a progress bar on a terminal.
 */
import { createReadStream, createWriteStream, fstatSync, openSync, rmSync, statSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import type { Command } from 'commander';
import { adminCall, pluginsDirOption } from '../common/admin-cli.js';
import { formatTable } from '../common/cli/table.js';
import type { AdminResponses } from './admin-api.js';
import { transferProgress } from './progress.js';
import { formatSize } from './size.js';
import type { SnapshotInfo } from './snapshots.js';
import type { DetailedVolume } from './status.js';
import { createArgs, extractArgs, runTar } from '../common/kernel/tar.js';

interface SocketOptions {
  pluginsDir: string;
}

/** Calls `TsnetVolume.<method>` on the plugin (see common/admin-cli for how it is found and what errors say). */
function ask<T>(o: SocketOptions, method: string, req: object): Promise<T> {
  return adminCall<T>(o.pluginsDir, 'volume', method, req);
}

/** One row of `tsnet volume ls`. */
function row(v: DetailedVolume): string[] {
  const s = v.Status;
  return [
    v.Name,
    s.Type,
    s.SizeLimit ?? '-',
    s.Used ?? '?',
    s.AvailableBytes === undefined ? '-' : formatSize(s.AvailableBytes),
    String(s.MountCount),
    v.CreatedAt,
  ];
}

/** Bytes in `file` (stdin when undefined) if it is a regular file, for the progress bar. */
function inputSize(file: string | undefined): number | undefined {
  const st = file === undefined ? fstatSync(0) : statSync(file);
  return st.isFile() ? st.size : undefined;
}

/**
 * Runs `work` with a lease on volume `name` and always releases it; Ctrl-C or SIGTERM kill tar
 * through the signal, then the lease is released too.
 */
async function withLease<T>(
  o: SocketOptions,
  name: string,
  purpose: 'export' | 'import',
  work: (lease: AdminResponses['Acquire'], signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const lease = await ask<AdminResponses['Acquire']>(o, 'Acquire', { Name: name, Purpose: purpose, Pid: process.pid });
  const abort = new AbortController();
  const onSignal = () => abort.abort(new Error(`${purpose} of volume "${name}" interrupted`));
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  try {
    return await work(lease, abort.signal);
  } catch (err) {
    throw abort.signal.aborted ? abort.signal.reason : err;
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    await ask(o, 'Release', { Name: name, Lease: lease.Lease });
  }
}

function reportWarnings(warnings: string): void {
  if (warnings !== '') process.stderr.write(`tsnet: tar: ${warnings.split('\n').join('\ntsnet: tar: ')}\n`);
}

async function exportVolume(name: string, o: SocketOptions & { output?: string }): Promise<void> {
  if (!o.output && process.stdout.isTTY) throw new Error('refusing to write a tar archive to a terminal: redirect stdout or use --output FILE');
  // Opened now, so an existing file is refused before the volume is touched.
  const output: Writable = o.output ? createWriteStream('', { fd: openSync(o.output, 'wx', 0o600) }) : process.stdout;
  try {
    await withLease(o, name, 'export', async (lease, signal) => {
      const via = transferProgress(`export ${name}`, lease.UsedBytes);
      const { warnings } = await runTar(createArgs(lease.Mountpoint), { output, via, signal });
      reportWarnings(warnings);
    });
  } catch (err) {
    // No half-written archive is left to be mistaken for a backup.
    if (o.output) {
      output.destroy();
      rmSync(o.output, { force: true });
    }
    throw err;
  }
}

async function importVolume(name: string, o: SocketOptions & { input?: string }): Promise<void> {
  if (!o.input && process.stdin.isTTY) throw new Error('refusing to read a tar archive from a terminal: redirect stdin or use --input FILE');
  const total = inputSize(o.input);
  const input: Readable = o.input ? createReadStream(o.input) : process.stdin;
  await withLease(o, name, 'import', async (lease, signal) => {
    const via = transferProgress(`import ${name}`, total);
    reportWarnings((await runTar(extractArgs(lease.Mountpoint), { input, via, signal })).warnings);
  });
}

async function listVolumes(o: SocketOptions & { json?: boolean }): Promise<void> {
  const { Volumes } = await ask<AdminResponses['List']>(o, 'List', { Fresh: true });
  if (o.json) {
    process.stdout.write(`${JSON.stringify(Volumes, null, 2)}\n`);
    return;
  }
  process.stdout.write(formatTable(['NAME', 'TYPE', 'LIMIT', 'USED', 'AVAILABLE', 'MOUNTS', 'CREATED'], Volumes.map(row), { gap: 2 }));
}

const SNAPSHOT_HEADER = ['VOLUME', 'SNAPSHOT', 'SIZE', 'LIMIT', 'METHOD', 'TOOK', 'CREATED'];
const snapshotRow = (s: SnapshotInfo) => [
  s.Volume,
  s.Name,
  formatSize(s.SizeBytes),
  s.SizeLimitBytes === undefined ? '-' : formatSize(s.SizeLimitBytes),
  s.Method,
  `${(s.TookMs / 1000).toFixed(2)}s`,
  s.CreatedAt,
];

async function snapshotVolume(volume: string, snapshot: string | undefined, o: SocketOptions & { json?: boolean; copy?: boolean }): Promise<void> {
  const req = { Volume: volume, ...(snapshot !== undefined && { Snapshot: snapshot }), Method: o.copy ? 'copy' : 'auto' };
  const { Snapshot } = await ask<AdminResponses['Snapshot']>(o, 'Snapshot', req);
  process.stdout.write(o.json ? `${JSON.stringify(Snapshot, null, 2)}\n` : formatTable(SNAPSHOT_HEADER, [snapshotRow(Snapshot)]));
}

async function listSnapshots(volume: string | undefined, o: SocketOptions & { json?: boolean }): Promise<void> {
  const { Snapshots } = await ask<AdminResponses['Snapshots']>(o, 'Snapshots', volume === undefined ? {} : { Volume: volume });
  process.stdout.write(o.json ? `${JSON.stringify(Snapshots, null, 2)}\n` : formatTable(SNAPSHOT_HEADER, Snapshots.map(snapshotRow)));
}

async function rmSnapshot(ref: string, o: SocketOptions): Promise<void> {
  const at = ref.indexOf('@');
  if (at < 1) throw new Error(`"${ref}" is not VOLUME@SNAPSHOT`);
  await ask(o, 'RemoveSnapshot', { Volume: ref.slice(0, at), Snapshot: ref.slice(at + 1) });
}

/** Adds `tsnet volume ls|export|import|snapshot|snapshots|rm-snapshot` to `program`. */
export function registerVolumeCommands(program: Command): void {
  const volume = program.command('volume').description('tsvol volumes: usage, export and import (asks the running plugin)');
  const socketOption = (cmd: Command) => cmd.addOption(pluginsDirOption());
  socketOption(volume.command('ls').description('list volumes with type, size limit, usage and mount count'))
    .option('--json', 'print JSON (the full Status of each volume) instead of a table')
    .action(listVolumes);
  socketOption(volume.command('export').argument('<name>', 'volume to export').description('write a tar archive of the volume to stdout'))
    .option('-o, --output <file>', 'write to FILE (must not exist) instead of stdout')
    .action(exportVolume);
  socketOption(
    volume
      .command('import')
      .argument('<name>', 'volume to fill: an empty type=local volume nothing uses')
      .description('unpack a tar archive from stdin into the volume'),
  )
    .option('-i, --input <file>', 'read from FILE instead of stdin')
    .action(importVolume);
  socketOption(
    volume
      .command('snapshot')
      .argument('<volume>', 'a type=local volume')
      .argument('[snapshot]', 'name of the snapshot (default: the time, e.g. 20261203T134501Z)')
      .description('take a consistent snapshot of a volume (clone it with -o from-snapshot=VOLUME@SNAPSHOT)'),
  )
    .option('--json', 'print JSON')
    .option('--copy', 'copy the image byte by byte even where the filesystem could reflink it (for measuring)')
    .action(snapshotVolume);
  socketOption(volume.command('snapshots').argument('[volume]', 'only the snapshots of this volume').description('list snapshots with size, method and time'))
    .option('--json', 'print JSON')
    .action(listSnapshots);
  socketOption(volume.command('rm-snapshot').argument('<ref>', 'VOLUME@SNAPSHOT').description('delete a snapshot')).action(rmSnapshot);
}
