/**
 * @module The container commands: `run`, `ps`, `stop`, `kill`, `rm`, `exec`, `logs`, and the hidden
 * `__supervise` a detached `run` starts. Flags follow docker's; implementation modules are loaded
 * when a command runs, so `run` pays only for what it uses.
 */
import type { Command } from 'commander';
import type { RunRequest } from '../container/create.js';
import { ago } from '../format.js';
import { collect, engine, forEachRef, printRows } from './common.js';

async function run(image: string, command: string[], flags: Omit<RunRequest, 'image' | 'command'> & { detach?: boolean }): Promise<void> {
  const { createContainer } = await import('../container/create.js');
  const { runAttached, runDetached } = await import('../container/supervise.js');
  const e = engine();
  const c = await createContainer(e, { ...flags, image, command });
  if (flags.detach) {
    await runDetached(e, c);
    process.stdout.write(`${c.id}\n`);
    return;
  }
  process.exitCode = await runAttached(e, c);
}

async function ps(o: { all?: boolean; quiet?: boolean; trunc: boolean; format?: string }): Promise<void> {
  const { psPorts, psStatus } = await import('../container/inspect.js');
  const { statusOf } = await import('../container/status.js');
  const all = (await engine().state.containers.list()).sort((a, b) => b.created.localeCompare(a.created));
  const shown = o.all ? all : all.filter((c) => statusOf(c) === 'running');
  const id = (i: string) => (o.trunc ? i.slice(0, 12) : i);
  const rows = shown.map((c) => {
    const cmd = [...c.config.entrypoint, ...c.config.cmd].join(' ');
    return {
      ID: id(c.id),
      Image: c.image.name,
      Command: `"${o.trunc && cmd.length > 20 ? `${cmd.slice(0, 19)}…` : cmd}"`,
      RunningFor: ago(c.created),
      Status: psStatus(c),
      Ports: psPorts(c),
      Names: c.name,
      State: statusOf(c),
    };
  });
  await printRows(rows, o.quiet ? '{{.ID}}' : o.format, [
    ['CONTAINER ID', 'ID'],
    ['IMAGE', 'Image'],
    ['COMMAND', 'Command'],
    ['CREATED', 'RunningFor'],
    ['STATUS', 'Status'],
    ['PORTS', 'Ports'],
    ['NAMES', 'Names'],
  ]);
}

/** Adds the container commands to `program`. */
export function addContainerCommands(program: Command): void {
  program
    .command('run')
    .description('Create and run a new container from an image')
    .argument('<image>')
    .argument('[command...]')
    .option('-d, --detach', 'run in the background and print the container ID')
    .option('--rm', 'remove the container (and its anonymous volumes) when it exits')
    .option('--name <name>', 'assign a name to the container')
    .option('-i, --interactive', 'keep STDIN open')
    .option('-t, --tty', 'the container uses this terminal (no pseudo-TTY is allocated)')
    .option('-e, --env <KEY=value>', 'set an environment variable', collect, [])
    .option('--env-file <file>', 'read environment variables from a file', collect, [])
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('-h, --hostname <name>', 'container host name')
    .option('--entrypoint <cmd>', 'overwrite the image ENTRYPOINT')
    .option('-m, --memory <bytes>', 'memory limit (e.g. 64m)')
    .option('--cpus <number>', 'number of CPUs')
    .option('--pids-limit <n>', 'process limit (0 or -1: unlimited)')
    .option('--network <network>', 'connect to a network (repeatable; none, host, or a network name)', collect, [])
    .option('--ip <address>', 'IPv4 address on the first network')
    .option('--ip6 <address>', 'IPv6 address on the first network')
    .option('--mac-address <mac>', 'MAC address on the first network')
    .option('--network-alias <alias>', 'network-scoped alias', collect, [])
    .option('-v, --volume <spec>', 'bind mount /host:/ctr[:ro] or volume NAME:/ctr[:ro]', collect, [])
    .option('--mount <spec>', 'mount: type=bind|volume|tmpfs,src=…,dst=…[,readonly]', collect, [])
    .option('--tmpfs <dst[:opts]>', 'mount a tmpfs', collect, [])
    .option('--volume-driver <driver>', 'volume driver for -v NAME:… (default tsvol)')
    .option('-p, --publish <spec>', 'publish a port ([ip:][hostPort:]containerPort[/proto])', collect, [])
    .option('--expose <port>', 'expose a port', collect, [])
    .option('--dns <ip>', 'DNS server', collect, [])
    .option('--dns-search <domain>', 'DNS search domain', collect, [])
    .option('--dns-option <option>', 'DNS option', collect, [])
    .option('--add-host <host:ip>', 'add a line to /etc/hosts', collect, [])
    .option('--cap-add <cap>', 'add a Linux capability', collect, [])
    .option('--cap-drop <cap>', 'drop a Linux capability', collect, [])
    .option('--privileged', 'all capabilities, writable /sys, nothing masked in /proc, no seccomp filter')
    .option('--security-opt <opt>', 'seccomp=unconfined|FILE (docker JSON profile), no-new-privileges[=true|false]', collect, [])
    .option('--read-only', "mount the container's root filesystem read-only")
    .option('-u, --user <user[:group]>', 'user (name or uid) and group to run as')
    .option('--stop-signal <signal>', 'signal `stop` sends (default SIGTERM)')
    .option('--stop-timeout <seconds>', 'seconds `stop` waits before SIGKILL (default 10)')
    .passThroughOptions()
    .action(run);

  program
    .command('ps')
    .description('List containers')
    .option('-a, --all', 'show all containers (default: running ones)')
    .option('-q, --quiet', 'only display container IDs')
    .option('--no-trunc', "don't truncate output")
    .option('--format <template>', 'Go-template subset: {{.ID}}, {{.Names}}, {{.Status}}, …')
    .action(ps);

  program
    .command('stop')
    .description('Stop running containers (stop signal, then SIGKILL after the timeout)')
    .option('-t, --time <seconds>', 'seconds to wait before killing')
    .argument('<container...>')
    .action(async (refs: string[], o: { time?: string }) => {
      const { findContainer, stopContainer } = await import('../container/control.js');
      const t = o.time === undefined ? undefined : Number(o.time);
      await forEachRef(refs, async (r) => stopContainer(engine(), await findContainer(engine(), r), t));
    });

  program
    .command('kill')
    .description('Send a signal (default SIGKILL) to running containers')
    .option('-s, --signal <signal>', 'signal to send', 'SIGKILL')
    .argument('<container...>')
    .action(async (refs: string[], o: { signal: string }) => {
      const { findContainer, killContainer } = await import('../container/control.js');
      await forEachRef(refs, async (r) => killContainer(await findContainer(engine(), r), o.signal));
    });

  program
    .command('rm')
    .description('Remove containers')
    .option('-f, --force', 'kill and remove a running container')
    .option('-v, --volumes', 'remove the anonymous volumes of the container')
    .argument('<container...>')
    .action(async (refs: string[], o: { force?: boolean; volumes?: boolean }) => {
      const { findContainer, removeContainer } = await import('../container/control.js');
      await forEachRef(refs, async (r) => removeContainer(engine(), await findContainer(engine(), r), { force: o.force ?? false, volumes: o.volumes ?? false }));
    });

  program
    .command('exec')
    .description('Run a command in a running container')
    .option('-i, --interactive', 'keep STDIN open')
    .option('-t, --tty', 'the command uses this terminal')
    .option('-d, --detach', 'run the command in the background')
    .option('-e, --env <KEY=value>', 'set an environment variable', collect, [])
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .argument('<container>')
    .argument('<command...>')
    .passThroughOptions()
    .action(async (ref: string, command: string[], o: { interactive?: boolean; detach?: boolean; env: string[]; workdir?: string }) => {
      const { findContainer } = await import('../container/control.js');
      const { execInContainer } = await import('../container/exec.js');
      const c = await findContainer(engine(), ref);
      process.exitCode = await execInContainer(c, {
        command,
        env: o.env,
        interactive: o.interactive ?? false,
        detach: o.detach ?? false,
        workdir: o.workdir,
      });
    });

  program
    .command('logs')
    .description('Print the output of a detached container')
    .option('-f, --follow', 'follow the output until the container stops')
    .option('-n, --tail <lines>', 'number of lines from the end ("all" for everything)', 'all')
    .argument('<container>')
    .action(async (ref: string, o: { follow?: boolean; tail: string }) => {
      const { findContainer } = await import('../container/control.js');
      const { printLogs } = await import('../container/logs.js');
      const c = await findContainer(engine(), ref);
      await printLogs(engine(), c.id, { follow: o.follow ?? false, ...(o.tail === 'all' ? {} : { tail: Number(o.tail) }) });
    });

  program
    .command('__supervise', { hidden: true })
    .argument('<id>')
    .argument('<parent-pid>')
    .argument('<parent-start>')
    .action(async (id: string, pid: string, start: string) => {
      const { supervise } = await import('../container/supervise.js');
      const { createWriteStream } = await import('node:fs');
      await supervise(engine(), id, { pid: Number(pid), start: Number(start) }, createWriteStream('', { fd: 3 }));
    });
}
