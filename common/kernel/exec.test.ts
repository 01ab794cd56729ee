/**
 * @module Tests of the one way to run programs: run, runPiped and start on real processes (node, sleep, cat).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { CommandError, run, runPiped, start, type Child } from './exec.js';

const at = { object: 'test', step: 'run' };
const node = (js: string) => [process.execPath, '-e', js];

describe('run', () => {
  it('returns stdout and stderr as the program wrote them, trailing newline included', async () => {
    expect(await run(node('process.stdout.write("a\\n"); process.stderr.write("b")'), at)).toEqual({ stdout: 'a\n', stderr: 'b' });
  });

  it('feeds `input` to stdin; without it stdin is at its end at once', async () => {
    expect((await run(['cat'], { ...at, input: 'x y' })).stdout).toBe('x y');
    expect((await run(['cat'], at)).stdout).toBe('');
  });

  it('rejects a non-zero exit with CommandError carrying the exit code, stderr, stdout and the first stderr line', async () => {
    const err = await run(node('console.log("out"); console.error("\\nfirst\\nsecond"); process.exit(3)'), at).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
    const e = err as CommandError;
    expect(e.code).toBe('ERR_KERNEL_COMMAND');
    expect(e.exitCode).toBe(3);
    expect(e.stdout).toBe('out\n');
    expect(e.stderr).toBe('\nfirst\nsecond\n');
    expect(e.message).toContain('first');
    expect(e.message).not.toContain('second');
    expect(e.timedOut).toBe(false);
  });

  it('rejects a program that cannot start, with the reason and a null exit code', async () => {
    const e = (await run(['/nonexistent/tstest-prog'], at).catch((x: unknown) => x)) as CommandError;
    expect(e).toBeInstanceOf(CommandError);
    expect(e.exitCode).toBeNull();
    expect(e.stderr).toMatch(/ENOENT/);
  });

  it('kills a program that outruns timeoutMs and says so', async () => {
    const t0 = Date.now();
    const e = (await run(['sleep', '30'], { ...at, timeoutMs: 200 }).catch((x: unknown) => x)) as CommandError;
    expect(e).toBeInstanceOf(CommandError);
    expect(e.timedOut).toBe(true);
    expect(e.message).toContain('timed out after 200 ms');
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it('kills a program when the AbortSignal fires', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const e = (await run(['sleep', '30'], { ...at, signal: ac.signal }).catch((x: unknown) => x)) as CommandError;
    expect(e).toBeInstanceOf(CommandError);
    expect(e.canceled).toBe(true);
  });

  it('replaces the environment when `env` is given', async () => {
    const r = await run(node('console.log(JSON.stringify([process.env.TSTEST_A, process.env.HOME]))'), { ...at, env: { TSTEST_A: 'x' } });
    expect(JSON.parse(r.stdout)).toEqual(['x', null]);
  });
});

describe('runPiped', () => {
  it('streams the input into the program', async () => {
    expect((await runPiped(['wc', '-c'], Readable.from([Buffer.alloc(300_000)]), at)).stdout.trim()).toBe('300000');
  });

  it('reads the input to its end even when the program stops reading early', async () => {
    let read = 0;
    async function* chunks() {
      for (let i = 0; i < 64; i++) {
        read += 65_536;
        yield Buffer.alloc(65_536);
      }
    }
    await runPiped(['head', '-c', '1'], Readable.from(chunks()), at);
    expect(read).toBe(64 * 65_536);
  });

  it('rejects with the input error and kills the program', async () => {
    async function* broken() {
      yield Buffer.from('x');
      throw new Error('tstest input broke');
    }
    await expect(runPiped(['cat'], Readable.from(broken()), at)).rejects.toThrow('tstest input broke');
  });

  it('rejects a failing program with CommandError', async () => {
    await expect(runPiped(['sh', '-c', 'cat >/dev/null; exit 4'], Readable.from(['a']), at)).rejects.toMatchObject({ exitCode: 4 });
  });
});

describe('start', () => {
  const children: Child[] = [];
  afterEach(async () => {
    for (const c of children.splice(0)) await c.terminate(1_000);
  });
  const started = (argv: string[], opts?: Parameters<typeof start>[1]) => {
    const c = start(argv, opts);
    children.push(c);
    return c;
  };

  it('captures stdout and stderr and reports the exit', async () => {
    const c = started(node('console.log("hi"); console.error("err"); process.exit(2)'));
    expect(await c.done).toEqual({ code: 2, signal: null, startError: undefined });
    expect(c.exited).toBe(true);
    expect(c.output()).toContain('hi\n');
    expect(c.output()).toContain('err\n');
  });

  it('terminates with SIGTERM, and with SIGKILL after the grace when SIGTERM is ignored', async () => {
    const obeys = started(['sleep', '30']);
    expect(obeys.pid).toBeGreaterThan(0);
    expect(await obeys.terminate(2_000)).toBe(true);
    expect((await obeys.done).signal).toBe('SIGTERM');

    const stubborn = started(node('process.on("SIGTERM", () => {}); console.log("ready"); setInterval(() => {}, 1000)'), { stdout: 'pipe' });
    await new Promise((r) => stubborn.stdout!.once('data', r));
    expect(await stubborn.terminate(300)).toBe(false);
    expect((await stubborn.done).signal).toBe('SIGKILL');
    expect(stubborn.kill()).toBe(false);
  });

  it('waitForExit says false while it runs and true once it ended', async () => {
    const c = started(['sleep', '30']);
    expect(await c.waitForExit(100)).toBe(false);
    c.kill('SIGKILL');
    expect(await c.waitForExit(5_000)).toBe(true);
  });

  it('gives a program that cannot start an exited Child with the reason', async () => {
    const c = started(['/nonexistent/tstest-prog']);
    const s = await c.done;
    expect(s.code).toBeNull();
    expect(s.startError).toMatch(/ENOENT/);
  });

  it('offers stdin and extra descriptors as pipes', async () => {
    const c = started(node('require("fs").createReadStream(null, { fd: 3 }).pipe(process.stdout)'), { stdin: 'pipe', extraFds: ['pipe'] });
    (c.fd(3) as NodeJS.WritableStream).end('through fd 3');
    await c.done;
    expect(c.output()).toBe('through fd 3');
  });

  it('stops at timeoutMs', async () => {
    const c = started(['sleep', '30'], { timeoutMs: 150 });
    expect((await c.done).signal).toBe('SIGTERM');
  });

  it('stops with SIGTERM when the signal aborts, reporting no start error', async () => {
    const ac = new AbortController();
    const c = started(['sleep', '30'], { signal: ac.signal });
    ac.abort();
    expect(await c.done).toEqual({ code: null, signal: 'SIGTERM', startError: undefined });
  });

  it('appends stdout and stderr to a file, and runs with the given env and cwd', async () => {
    const dir = await mkdtemp('/tmp/tstest-');
    try {
      const log = join(dir, 'out.log');
      await writeFile(log, 'before\n');
      const c = started(node('console.log(process.env.TSTEST_X, process.cwd()); console.error("err")'), { stdout: { file: log }, stderr: { file: log }, env: { TSTEST_X: 'x' }, cwd: dir });
      expect((await c.done).code).toBe(0);
      expect(c.output()).toBe('');
      expect((await readFile(log, 'utf8')).split('\n').sort()).toEqual(['', 'before', 'err', `x ${dir}`]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
