/**
 * @module The managed plugin on a private dockerd, for integration/managed-plugin.test.ts and
 * bench/plugin-bench.ts: build it with `npm run plugin` (packaging/plugin/build.sh), create and enable
 * it with its state in a test directory, a local registry (Debian's docker-registry) for `docker plugin
 * push`/`upgrade`, and what a reboot takes away from the host while dockerd is down.
 */
import { mkdir, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { start } from '../../common/kernel/exec.js';
import { detachDevices, listLoops } from '../../common/kernel/loop.js';
import { isUnder } from '../../common/kernel/mount-info.js';
import { DEFAULT_PLUGINS_DIR } from '../../common/plugin.js';
import { unmountUnder } from '../../common/kernel/mount.js';
import { bridgeMacFor } from '../../network-driver/modes/bridge/bridge-mode.js';
import { firewallNames } from '../../network-driver/modes/bridge-core/firewall-plan.js';
import { instanceTag } from '../../network-driver/modes/shared/instance.js';
import { freePort } from '../../network-driver/modes/testing/fixture-world.js';
import { isGone, listProcesses, splitRuleArgs } from '../leak-check.js';
import type { PrivateDockerd } from './private-dockerd.js';
import { mustRun, pollUntil, repoRoot, runUnlessGone, tryRun } from '../system.js';

/** The state directory inside the plugin (config.json's `state` mount and TSNET_STATE_DIR). */
export const PLUGIN_STATE_DIR = '/var/lib/tsnet';

/** Runs packaging/plugin/build.sh; resolves with its summary line ("plugin directory …: rootfs N MiB, built in N ms"). */
export async function buildPlugin(opts: { dir: string; name?: string; host?: string; create: boolean; epoch?: number }): Promise<string> {
  const argv = ['sh', join(repoRoot(), 'packaging/plugin/build.sh'), '--dir', opts.dir];
  if (opts.name !== undefined) argv.push('--name', opts.name);
  if (opts.host !== undefined) argv.push('--host', opts.host);
  if (!opts.create) argv.push('--no-create');
  const env = opts.epoch === undefined ? process.env : { ...process.env, SOURCE_DATE_EPOCH: String(opts.epoch) };
  const { stdout } = await mustRun(argv, { timeoutMs: 300_000, env });
  return stdout.split('\n').find((l) => l.startsWith('plugin directory')) ?? stdout;
}

/** `docker -H <host> …` helpers of one private dockerd. */
export function dockerOf(pd: PrivateDockerd): { cli: (args: readonly string[]) => ReturnType<typeof tryRun>; ok: (args: readonly string[]) => Promise<string> } {
  const cli = (args: readonly string[]) => tryRun(['docker', '-H', pd.host, ...args], { timeoutMs: 180_000 });
  return {
    cli,
    async ok(args) {
      const r = await cli(args);
      if (r.code !== 0) throw new Error(`\`docker ${args.join(' ')}\` failed (exit ${r.code}): ${r.stderr.trim()}`);
      return r.stdout.trim();
    },
  };
}

/** The full ID of plugin `name`. */
export async function pluginId(pd: PrivateDockerd, name: string): Promise<string> {
  return dockerOf(pd).ok(['plugin', 'inspect', '-f', '{{.Id}}', name]);
}

/**
 * Where dockerd makes the plugin's socket directory (what `tsnet --plugins-dir` takes): always
 * `/run/docker/plugins/<id>`, whatever the daemon's `--exec-root` (dockerd 20.10 getPluginExecRoot).
 */
export async function pluginSocketDir(pd: PrivateDockerd, name: string): Promise<string> {
  return join(DEFAULT_PLUGINS_DIR, await pluginId(pd, name));
}

/** Points the plugin's state mount at `stateDir` (made here; dockerd does not create it) and enables it. */
export async function enablePlugin(pd: PrivateDockerd, name: string, stateDir: string): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const docker = dockerOf(pd);
  await docker.ok(['plugin', 'set', name, `state.source=${stateDir}`]);
  await docker.ok(['plugin', 'enable', name]);
}

/** A local registry (Debian's `docker-registry`) on 127.0.0.1, which dockerd trusts without TLS. */
export interface LocalRegistry {
  /** `127.0.0.1:PORT`. */
  address: string;
  stop(): Promise<void>;
}

/** Starts `docker-registry serve` with its storage under `dir`; resolves when it answers. */
export async function startRegistry(dir: string): Promise<LocalRegistry> {
  await mkdir(join(dir, 'storage'), { recursive: true });
  const address = `127.0.0.1:${await freePort()}`;
  const config = join(dir, 'config.yml');
  await writeFile(config, `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'storage')}\nhttp:\n  addr: ${address}\n`);
  const log = { file: join(dir, 'registry.log') };
  const child = start(['docker-registry', 'serve', config], { stdout: log, stderr: log });
  const stop = async () => void (await child.terminate(10_000));
  const answers = () =>
    fetch(`http://${address}/v2/`, { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.ok,
      () => false,
    );
  const up = await pollUntil(answers, { timeoutMs: 20_000, intervalMs: 200 });
  if (!up) {
    await stop();
    throw new Error(`docker-registry did not answer on ${address} (see ${join(dir, 'registry.log')})`);
  }
  return { address, stop };
}

/**
 * What a reboot takes from the host while dockerd `pd` is down (run it from `pd.restart`): the
 * processes of the daemon and its plugins, the plugin's bridges (known by their MAC) with their ports,
 * its nft table and iptables chain, every mount under the daemon's directory and `stateDir`, and the
 * loop devices of images under `stateDir`. Only this plugin's objects: other tests' `ts…` links stay.
 */
export async function takeAwayWhatARebootTakes(pd: PrivateDockerd, stateDir: string): Promise<void> {
  const leftovers: number[] = [];
  for (const { pid, argv } of await listProcesses()) {
    const root = await readlink(`/proc/${pid}/root`).catch(() => '/');
    if (isUnder(root, pd.dir) || argv.some((a) => a.includes(pd.dir))) leftovers.push(pid);
  }
  for (const pid of leftovers) process.kill(pid, 'SIGKILL');
  await pollUntil(async () => (await Promise.all(leftovers.map(isGone))).every(Boolean), { timeoutMs: 10_000 });

  const tag = instanceTag(join(PLUGIN_STATE_DIR, 'network'));
  const mac = bridgeMacFor(tag);
  const links = JSON.parse((await mustRun(['ip', '-j', 'link', 'show'])).stdout || '[]') as Array<{ ifname: string; address?: string; master?: string; linkinfo?: unknown }>;
  const bridges = links.filter((l) => l.address === mac).map((l) => l.ifname);
  const gone = /Cannot find device|does not exist/;
  for (const l of links.filter((l) => l.master !== undefined && bridges.includes(l.master))) await runUnlessGone(['ip', 'link', 'del', 'dev', l.ifname], gone);
  for (const b of bridges) await runUnlessGone(['ip', 'link', 'del', 'dev', b], gone);

  const { table, handoffChain } = firewallNames(tag);
  await runUnlessGone(['nft', 'delete', 'table', 'inet', table], /No such file or directory/);
  for (const family of ['iptables', 'ip6tables']) {
    const rules = (await mustRun([`${family}-save`, '-t', 'filter'])).stdout.split('\n');
    for (const rule of rules.filter((r) => r.startsWith('-A ') && r.includes(`-j ${handoffChain}`))) {
      await mustRun([family, '-t', 'filter', '-D', ...splitRuleArgs(rule).slice(1)]);
    }
    if (rules.some((r) => r === `:${handoffChain} - [0:0]` || r.startsWith(`:${handoffChain} `))) {
      await mustRun([family, '-t', 'filter', '-F', handoffChain]);
      await mustRun([family, '-t', 'filter', '-X', handoffChain]);
    }
  }

  await unmountUnder(pd.dir, { lazy: true });
  await unmountUnder(stateDir, { lazy: true });
  await detachDevices((await listLoops()).filter((l) => isUnder(l.backingFile, stateDir)));
}
