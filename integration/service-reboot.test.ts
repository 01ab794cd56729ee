/**
 * @module The system service's promise, end to end on a private dockerd: the suite started the way
 * `tsnet service install`'s unit starts it (its ExecStart, then its ExecStartPost until that succeeds,
 * both read from the generated unit) before dockerd brings back, after a simulated reboot, two
 * `--restart=always` containers on a tsnet bridge network with tsipam addresses, one with a tsvol
 * volume: tsipam addresses (the pinned one unchanged), they ping each other, and the volume's file reads back.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { start, type Child } from '../common/kernel/exec.js';
import { isUnder } from '../common/kernel/mount-info.js';
import { SOCKET_NAMES, type PluginKind } from '../common/plugin.js';
import { UNIT_NAME, unitSetting } from '../cli/service.js';
import { testPrefixes } from '../network-driver/modes/testing/fixture-world.js';
import { cliPath, DOCKER_SPEC_DIR } from '../testing/docker/plugin-harness.js';
import { startPrivateDockerd, type PrivateDockerd } from '../testing/docker/private-dockerd.js';
import { forgetInstanceKernelState, instanceBridges } from '../testing/docker/reboot.js';
import type { Runtime } from '../testing/docker/runtime.js';
import { mountsMatching, mustRun, pollUntil, tryRun } from '../testing/system.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('service reboot test skipped: it needs root (links, mounts, dockerd)');

const IMAGE = 'tsnet-test/busybox:latest';
const hex = randomBytes(4).toString('hex');
const dir = `/tmp/tstest-${hex}`;
const pluginsDir = join(dir, 'plugins');
const stateDir = join(dir, 'state');
const KINDS: PluginKind[] = ['network', 'ipam', 'volume'];
const drivers = { network: `tstest${hex}net`, ipam: `tstest${hex}ipam`, volume: `tstest${hex}vol` };
const specFiles = KINDS.map((k) => join(DOCKER_SPEC_DIR, `${drivers[k]}.spec`));
const [net, vol, a, b] = ['net', 'vol', 'a', 'b'].map((what) => `tstest-${hex}-${what}`) as [string, string, string, string];

let execStart: string[] = [];
let execStartPost: string[] = [];
let suite: Child | undefined;
let suiteOutput = '';
let daemon: PrivateDockerd | undefined;
let rt: Runtime;

/** The unit's command lines: its paths are plain (install refuses anything systemd would unquote), so blanks split them. */
function commandOf(unit: string, key: string): string[] {
  const line = unitSetting(unit, key);
  if (!line) throw new Error(`the generated unit has no ${key}=`);
  return line.split(' ');
}

/** Starts the suite as systemd would: ExecStart, then ExecStartPost, which must succeed. Returns the ms until ready. */
async function startLikeTheUnit(): Promise<number> {
  const started = Date.now();
  // The private dockerd is this suite's Docker (on a real host the unit's default, /var/run/docker.sock,
  // is): agreement compares with it, as a drop-in `Environment=TSNET_DOCKER_HOST=…` would set.
  const env = { ...process.env, TSNET_DOCKER_HOST: daemon!.host };
  suite = start(execStart, { env, stdout: 'pipe', stderr: 'pipe' });
  for (const stream of [suite.stdout, suite.stderr]) stream?.setEncoding('utf8').on('data', (d: string) => (suiteOutput += d));
  const post = await tryRun(execStartPost, { timeoutMs: 90_000 });
  if (post.code !== 0) throw new Error(`ExecStartPost failed (${post.code}): ${post.stderr}\nsuite output:\n${suiteOutput.slice(-3000)}`);
  return Date.now() - started;
}

async function stopSuite(): Promise<void> {
  if (suite) await suite.terminate(15_000);
}

const wipeKernelState = () => forgetInstanceKernelState(dir, stateDir);

const inspect = async (c: string, format: string) => (await rt.ok(['inspect', '--format', format, c])).trim();
const addressOf = (c: string, net: string) => inspect(c, `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`);
const running = async (c: string) => (await rt.cli(['inspect', '--format', '{{.State.Running}}', c])).stdout.trim() === 'true';

beforeAll(async () => {
  if (!isRoot) return;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // The unit exactly as a user gets it, written below a --root folder (no systemd here), for this instance's folders.
  await mustRun([process.execPath, cliPath(), 'service', 'install', '--root', join(dir, 'root'), '--plugins-dir', pluginsDir, '--state-dir', stateDir]);
  const unit = await readFile(join(dir, 'root/etc/systemd/system', UNIT_NAME), 'utf8');
  execStart = commandOf(unit, 'ExecStart');
  execStartPost = commandOf(unit, 'ExecStartPost');
  await mkdir(DOCKER_SPEC_DIR, { recursive: true });
  for (const k of KINDS) await writeFile(join(DOCKER_SPEC_DIR, `${drivers[k]}.spec`), `unix://${join(pluginsDir, SOCKET_NAMES[k])}\n`);
  daemon = await startPrivateDockerd(IMAGE);
  rt = daemon.runtime(drivers, IMAGE);
  await startLikeTheUnit();
});

afterAll(async () => {
  if (!isRoot) return;
  if (daemon) {
    // Containers, network and volume go while the plugins still serve, so each call reaches them.
    for (const argv of [['rm', '-f', a, b], ['network', 'rm', net], ['volume', 'rm', vol]]) await rt.cli(argv);
    await daemon.stop();
  }
  await stopSuite();
  await wipeKernelState();
  await Promise.all(specFiles.map((f) => rm(f, { force: true })));
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!isRoot)('tsnet.service: the suite before dockerd after a reboot', () => {
  it('brings back both --restart=always containers with their addresses, connectivity and volume data', async () => {
    const p = await testPrefixes();
    await rt.ok(['network', 'create', '-d', drivers.network, '--ipam-driver', drivers.ipam, '--subnet', p.v4(0), net]);
    await rt.ok(['volume', 'create', '-d', drivers.volume, '-o', 'size=8m', vol]);
    await rt.ok(['run', '-d', '--restart=always', '--name', a, '--network', net, '--ip', p.ip4(0, 10), '-v', `${vol}:/data`, rt.image, 'sleep', '100000']);
    await rt.ok(['run', '-d', '--restart=always', '--name', b, '--network', net, rt.image, 'sleep', '100000']);
    await rt.ok(['exec', a, 'sh', '-c', `echo ${hex} > /data/f`]);
    const before = { a: await addressOf(a, net), b: await addressOf(b, net) };
    expect(before.a).not.toBe(before.b);
    expect((await rt.cli(['exec', a, 'ping', '-c', '1', '-W', '2', before.b])).code).toBe(0);

    let suiteReadyMs = 0;
    const rebootedAt = { dockerd: 0 };
    await daemon!.restart(async () => {
      // The reboot: dockerd is down (its containers with it); the suite stops and the kernel forgets ours.
      await stopSuite();
      await wipeKernelState();
      expect(await instanceBridges(stateDir)).toEqual([]);
      expect(await mountsMatching((m) => isUnder(m, dir))).toEqual([]);
      // systemd's order: tsnet.service started and ready, then docker.service.
      suiteReadyMs = await startLikeTheUnit();
      rebootedAt.dockerd = Date.now();
    });

    const back = await pollUntil(async () => (await running(a)) && (await running(b)), { timeoutMs: 60_000, intervalMs: 200 });
    const recoveryMs = Date.now() - rebootedAt.dockerd;
    console.log(`service reboot: suite ready ${suiteReadyMs} ms after ExecStart; both containers running ${recoveryMs} ms after dockerd was started`);
    expect(back, `containers not back; suite output:\n${suiteOutput.slice(-3000)}`).toBe(true);
    // dockerd releases a container's address when it cleans up after the reboot and asks tsipam again when it
    // starts it (as with its own IPAM): a pinned --ip comes back, a dynamic one is the next free one.
    const after = { a: await addressOf(a, net), b: await addressOf(b, net) };
    expect(after.a).toBe(p.ip4(0, 10));
    expect(after.b.startsWith(p.ip4(0, 0).replace(/0$/, '')), `${after.b} is in ${p.v4(0)}`).toBe(true); // a /24
    expect(after.b).not.toBe(after.a);
    expect((await rt.cli(['exec', a, 'ping', '-c', '1', '-W', '2', after.b])).code).toBe(0);
    expect((await rt.cli(['exec', b, 'ping', '-c', '1', '-W', '2', after.a])).code).toBe(0);
    expect(await rt.ok(['exec', a, 'cat', '/data/f'])).toBe(`${hex}\n`);
  });
});
