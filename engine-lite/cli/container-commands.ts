/**
 * @module The container commands: `run`, `ps`, `stop`, `kill`, `rm`, `exec`, `logs`, and the hidden
 * `__supervise` a detached `run` starts. Flags follow docker's; implementation modules are loaded
 * when a command runs, so `run` pays only for what it uses.
 */
import type { Command } from 'commander';
import { collect, engine, forEachRef, printRows } from './common.js';
import { commanderFlags, RUN_FLAGS, type RunFlags } from './flags.js';

/** `run`: creates the container and runs it attached, or hands it to a supervisor with `-d`. */
export async function runContainer(image: string, command: string[], flags: RunFlags): Promise<void> {
  const [{ createContainer }, { runAttached, runDetached }] = await Promise.all([import('../container/create.js'), import('../container/supervise.js')]);
  const e = engine();
  if (flags.detach) {
    const c = await runDetached(e, (id) => createContainer(e, { ...flags, image, command }, id));
    process.stdout.write(`${c.id}\n`);
    return;
  }
  process.exitCode = await runAttached(e, await createContainer(e, { ...flags, image, command }));
}

async function ps(o: { all?: boolean; quiet?: boolean; trunc: boolean; format?: string }): Promise<void> {
  const { psPorts, psStatus } = await import('../container/inspect.js');
  const { statusOf } = await import('../container/status.js');
  const { ago } = await import('../format.js');
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

/** `__supervise ID PARENT-PID PARENT-START`: the body of a detached container's supervisor (see container/supervise.ts). */
export async function superviseContainer(id: string, pid: string, start: string): Promise<void> {
  const { supervise } = await import('../container/supervise.js');
  const { createWriteStream } = await import('node:fs');
  await supervise(engine(), id, { pid: Number(pid), start: Number(start) }, process.stdin, createWriteStream('', { fd: 3 }));
}

/** Adds the container commands to `program`. */
export function addContainerCommands(program: Command): void {
  const run = program
    .command('run')
    .description('Create and run a new container from an image')
    .argument('<image>')
    .argument('[command...]')
    .passThroughOptions()
    .action(runContainer);
  for (const f of RUN_FLAGS) {
    if (f.repeatable) run.option(commanderFlags(f), f.description, collect, []);
    else run.option(commanderFlags(f), f.description);
  }

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
    .action(superviseContainer);
}
