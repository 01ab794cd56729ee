/**
 * @module The fast path's flag parsing agrees with commander's on `run` command lines (commander is
 * the reference: it parses every command that the fast path hands over), and hands over whatever it
 * does not understand.
 */
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { addContainerCommands } from './container-commands.js';
import { parseFastPath } from './flags.js';

/** What commander makes of `argv` (after node and the script): the run action's arguments. */
async function viaCommander(argv: string[]): Promise<{ image: string; command: string[]; flags: Record<string, unknown> }> {
  const program = new Command('engine-lite').exitOverride().enablePositionalOptions();
  program.option('--state-dir <dir>').option('--plugins-dir <dir>').option('--plugin-timeout <seconds>');
  addContainerCommands(program);
  let got: { image: string; command: string[]; flags: Record<string, unknown> } | undefined;
  program.commands.find((c) => c.name() === 'run')!.action((image: string, command: string[], flags: Record<string, unknown>) => {
    got = { image, command, flags: { ...flags } };
  });
  await program.parseAsync(['node', 'engine-lite', ...argv]);
  return got!;
}

const SAME = [
  ['run', '--rm', 'img', 'true'],
  ['--state-dir', '/tmp/x', 'run', '-d', '--name', 'web', 'img'],
  ['run', '-it', '-e', 'A=1', '--env=B=2', '-eC=3', 'img', 'sh', '-c', 'echo -e hi'],
  ['run', '-dit', '-w/srv', '--network', 'n1', '--network', 'n2', '-m', '64m', 'img', '--not-a-flag'],
  ['run', '--read-only', '--cap-add', 'NET_ADMIN', '--security-opt', 'seccomp=unconfined', '-u', '1000:1000', '-h', 'box', 'img'],
  ['run', '-v', '/a:/b:ro', '--mount', 'type=tmpfs,dst=/t', '--tmpfs', '/run', '-p', '8080:80', '--', 'img', 'ls'],
  ['run', '--name', '-odd', 'img'],
];

describe('parseFastPath', () => {
  it.each(SAME)('reads %j as commander does', async (...argv) => {
    const fast = parseFastPath(argv);
    expect(fast?.name).toBe('run');
    const ref = await viaCommander(argv);
    if (fast?.name !== 'run') return;
    expect({ image: fast.image, command: fast.command, flags: fast.flags }).toEqual(ref);
  });

  it('reads the global flags and the supervisor command', () => {
    expect(parseFastPath(['--state-dir=/s', '--plugin-timeout', '5', '__supervise', 'abc', '12', '34'])).toEqual({
      globals: { stateDir: '/s', pluginTimeout: '5' },
      name: '__supervise',
      id: 'abc',
      parentPid: '12',
      parentStart: '34',
    });
  });

  it.each([
    [['run', '--help']],
    [['run', '--no-such-flag', 'img']],
    [['run', '--rm=1', 'img']],
    [['run', '--name']],
    [['run', '-x', 'img']],
    [['run']],
    [['--bogus', 'run', 'img']],
    [['ps', '-a']],
    [['__supervise', 'abc']],
    [[]],
  ])('leaves %j to commander', (argv) => {
    expect(parseFastPath(argv)).toBeUndefined();
  });
});
