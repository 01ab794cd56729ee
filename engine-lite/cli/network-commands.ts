/**
 * @module `network create/ls/inspect/rm/connect/disconnect`, with docker's flags.
 */
import type { Command } from 'commander';
import { collect, engine, forEachRef, keyValues, printRows, printViews } from './common.js';

interface CreateFlags {
  driver?: string;
  ipamDriver?: string;
  subnet: string[];
  ipRange: string[];
  gateway: string[];
  auxAddress: string[];
  ipv6?: boolean;
  internal?: boolean;
  attachable?: boolean;
  opt: string[];
  ipamOpt: string[];
  label: string[];
}

/** Adds the `network` command group to `program`. */
export function addNetworkCommands(program: Command): void {
  const network = program.command('network').description('Manage networks');

  network
    .command('create')
    .description('Create a network')
    .argument('<name>')
    .option('-d, --driver <driver>', 'network driver (default tsnet)')
    .option('--ipam-driver <driver>', 'IPAM driver (default tsipam)')
    .option('--subnet <cidr>', 'subnet', collect, [])
    .option('--ip-range <cidr>', 'allocate container addresses from a sub-range', collect, [])
    .option('--gateway <ip>', 'gateway of the subnet', collect, [])
    .option('--aux-address <name=ip>', 'auxiliary address the driver reserves', collect, [])
    .option('--ipv6', 'enable IPv6')
    .option('--internal', 'restrict external access to the network')
    .option('--attachable', 'accepted for compatibility (recorded only)')
    .option('-o, --opt <key=value>', 'driver option', collect, [])
    .option('--ipam-opt <key=value>', 'IPAM option', collect, [])
    .option('--label <key=value>', 'label', collect, [])
    .action(async (name: string, o: CreateFlags) => {
      const { createNetwork } = await import('../network/networks.js');
      const net = await createNetwork(engine(), {
        name,
        driver: o.driver,
        ipamDriver: o.ipamDriver,
        subnets: o.subnet,
        ranges: o.ipRange,
        gateways: o.gateway,
        auxAddresses: o.auxAddress,
        enableIPv6: o.ipv6 ?? false,
        internal: o.internal ?? false,
        attachable: o.attachable ?? false,
        options: keyValues(o.opt, '--opt'),
        ipamOptions: keyValues(o.ipamOpt, '--ipam-opt'),
        labels: keyValues(o.label, '--label'),
      });
      process.stdout.write(`${net.id}\n`);
    });

  network
    .command('ls')
    .alias('list')
    .description('List networks')
    .option('-q, --quiet', 'only display network IDs')
    .option('--no-trunc', "don't truncate output")
    .option('--format <template>', 'Go-template subset: {{.ID}}, {{.Name}}, {{.Driver}}, {{.Scope}}')
    .action(async (o: { quiet?: boolean; trunc: boolean; format?: string }) => {
      const { listNetworks } = await import('../network/networks.js');
      const nets = await listNetworks(engine());
      const id = (i: string) => (o.trunc ? i.slice(0, 12) : i);
      const rows = nets.map((n) => ({ ID: id(n.id), Name: n.name, Driver: n.driver, Scope: 'local' }));
      await printRows(rows, o.quiet ? '{{.ID}}' : o.format, [
        ['NETWORK ID', 'ID'],
        ['NAME', 'Name'],
        ['DRIVER', 'Driver'],
        ['SCOPE', 'Scope'],
      ]);
    });

  network
    .command('inspect')
    .description('Display detailed information on networks')
    .option('-f, --format <template>', 'Go-template subset: {{.Name}}, {{json .IPAM}}, …')
    .argument('<network...>')
    .action(async (refs: string[], o: { format?: string }) => {
      const { findNetwork } = await import('../network/networks.js');
      const { inspectNetwork } = await import('../network/network-view.js');
      const containers = await engine().state.containers.list();
      const views = [];
      for (const r of refs) views.push(inspectNetwork(await findNetwork(engine(), r), containers));
      await printViews(views, o.format);
    });

  network
    .command('rm')
    .alias('remove')
    .description('Remove networks')
    .argument('<network...>')
    .action(async (refs: string[]) => {
      const { removeNetwork } = await import('../network/networks.js');
      await forEachRef(refs, async (r) => {
        await removeNetwork(engine(), r);
      });
    });

  network
    .command('connect')
    .description('Connect a container to a network')
    .option('--ip <address>', 'IPv4 address')
    .option('--ip6 <address>', 'IPv6 address')
    .option('--alias <alias>', 'network-scoped alias', collect, [])
    .option('--driver-opt <key=value>', 'driver option for the endpoint', collect, [])
    .argument('<network>')
    .argument('<container>')
    .action(async (netRef: string, ref: string, o: { ip?: string; ip6?: string; alias: string[]; driverOpt: string[] }) => {
      const { findNetwork } = await import('../network/networks.js');
      const { findContainer } = await import('../container/control.js');
      const { connectContainer } = await import('../network/connect.js');
      const net = await findNetwork(engine(), netRef);
      const c = await findContainer(engine(), ref);
      await connectContainer(engine(), c, net, { ip: o.ip, ip6: o.ip6, aliases: o.alias, driverOpts: keyValues(o.driverOpt, '--driver-opt') });
    });

  network
    .command('disconnect')
    .description('Disconnect a container from a network')
    .option('-f, --force', 'accepted for compatibility')
    .argument('<network>')
    .argument('<container>')
    .action(async (netRef: string, ref: string) => {
      const { findNetwork } = await import('../network/networks.js');
      const { findContainer } = await import('../container/control.js');
      const { disconnectContainer } = await import('../network/connect.js');
      await disconnectContainer(engine(), await findContainer(engine(), ref), await findNetwork(engine(), netRef));
    });
}
