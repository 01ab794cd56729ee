/**
 * @module `tsnet ipam ls | inspect POOL | gc [--dry-run]`: tables (or `--json`) of what the running tsipam
 * holds. The plugin locks its LevelDB, so every command asks it over its socket (`TsnetIpam.*`); gc reads
 * Docker's view here in the CLI, never from inside a plugin request.
 */
import type { Command } from 'commander';
import { adminCall, pluginsDirOption } from '../../common/admin-cli.js';
import { formatTable, type TableStyle } from '../../common/cli/table.js';
import type { GcItemView, PoolView, TsnetIpamResponses } from './admin-api.js';
import { DEFAULT_DOCKER_HOST } from '../../docker-sync/docker-host.js';
import { readDockerUse } from './docker-view.js';

/** Where the commands write; tests capture it. */
export interface CliOutput {
  write(text: string): void;
}

interface CommonOptions {
  pluginsDir: string;
  json?: boolean;
}

function ask<M extends keyof TsnetIpamResponses & string>(o: CommonOptions, method: M, req: object): Promise<TsnetIpamResponses[M]> {
  return adminCall<TsnetIpamResponses[M]>(o.pluginsDir, 'ipam', method, req);
}

/** Docker's layout, with `-` for an empty cell. */
const TABLE: TableStyle = { empty: '-' };

function poolRows(pools: readonly PoolView[]): string {
  return formatTable(
    ['POOL ID', 'SUBNET', 'IP RANGE', 'USED', 'FREE', 'SIZE', 'CREATED'],
    pools.map((p) => [p.ID, p.Subnet, p.IPRange, p.Used, p.Free, p.Size, p.Created]),
    TABLE,
  );
}

function poolDetails(r: TsnetIpamResponses['Inspect']): string {
  const p = r.Pool;
  const options = Object.entries(p.Options).map(([k, v]) => `${k}=${v}`).join(', ');
  const head = formatTable(
    ['FIELD', 'VALUE'],
    [
      ['Pool ID', p.ID],
      ['Space', p.Space],
      ['Subnet', p.Subnet + (p.Auto ? ' (chosen by tsipam)' : '')],
      ['IP range', p.IPRange],
      ['Options', options],
      ['Usage', `${p.Used} used, ${p.Free} free, ${p.Size} usable`],
      ['Serial position', p.Cursor],
      ['Created', p.Created],
    ],
    TABLE,
  );
  const rows = formatTable(['ADDRESS', 'KIND', 'NAME', 'MAC', 'HOST', 'SINCE'], r.Addresses.map((a) => [a.Address, a.Kind, a.Name, a.MAC, a.Host, a.Since]), TABLE);
  return `${head}\n${rows}`;
}

function gcReport(items: readonly GcItemView[], dryRun: boolean): string {
  const addresses = items.filter((i) => i.Address !== '').length;
  const pools = items.length - addresses;
  const verb = dryRun ? 'would release' : 'released';
  const table = items.length > 0 ? formatTable(['POOL ID', 'ADDRESS', 'REASON'], items.map((i) => [i.PoolID, i.Address || '(pool)', i.Reason]), TABLE) : '';
  return `${table}${verb} ${addresses} address${addresses === 1 ? '' : 'es'} and ${pools} pool${pools === 1 ? '' : 's'}${dryRun ? ' (dry run)' : ''}\n`;
}

/** Adds the `ipam` command group to `program`. */
export function registerIpamCommands(program: Command, out: CliOutput = process.stdout): void {
  const ipam = program.command('ipam').description('inspect and clean up what tsipam holds (asks the running plugin)');
  const common = (cmd: Command) =>
    cmd.addOption(pluginsDirOption()).option('--json', 'print JSON for scripts');
  const print = (o: CommonOptions, value: unknown, text: string) => out.write(o.json ? `${JSON.stringify(value, null, 2)}\n` : text);

  common(ipam.command('ls').description('list pools with used and free address counts')).action(async (o: CommonOptions) => {
    const r = await ask(o, 'List', {});
    print(o, r.Pools, poolRows(r.Pools));
  });

  common(ipam.command('inspect').argument('<pool>', 'pool ID or subnet').description('show a pool and who holds which address since when')).action(
    async (pool: string, o: CommonOptions) => {
      const r = await ask(o, 'Inspect', { Pool: pool });
      print(o, r, poolDetails(r));
    },
  );

  common(
    ipam
      .command('gc')
      .description('release addresses and pools that Docker no longer knows (read from the dockerd API)')
      .option('--dry-run', 'only report what would be released')
      .option('--docker-host <url>', 'the dockerd to ask (env TSNET_DOCKER_HOST)', process.env.TSNET_DOCKER_HOST ?? DEFAULT_DOCKER_HOST),
  ).action(async (o: CommonOptions & { dryRun?: boolean; dockerHost: string }) => {
    const before = new Date().toISOString(); // anything allocated from now on is left alone
    const known = await readDockerUse(o.dockerHost);
    const r = await ask(o, 'Gc', { Subnets: known.subnets, Addresses: known.addresses, Before: before, DryRun: o.dryRun === true });
    print(o, r, gcReport(r.Items, r.DryRun));
  });
}
