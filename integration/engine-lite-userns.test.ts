/**
 * `engine-lite run --userns remap`: container root is an unprivileged host range. Inside, `id -u`
 * is 0 and the image's files look owned by root; a file made in a bind mount is owned on the host by
 * the mapped uid; a host root-owned 0644 file bound in cannot be written; CAP_NET_ADMIN inside cannot
 * change a host link (the same command without --userns can: the control). engine-lite only: the
 * host dockerd has no userns-remap set up.
 */
import { chmod, mkdtemp, rm, stat, writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { checkUserNamespaces } from '../common/kernel/userns.js';
import { engineLiteRuntime, type EngineLiteRuntime } from '../testing/docker/engine-lite-runtime.js';
import { randomName } from '../testing/kernel/netns.js';
import { mustRun, tryRun } from '../testing/system.js';

const isRoot = process.getuid?.() === 0;
const missing = await checkUserNamespaces().then(() => undefined, (err: Error) => err.message);
if (!isRoot) console.warn('engine-lite user namespace tests skipped: they need root');
else if (missing) console.warn(`engine-lite user namespace tests skipped: ${missing}`);

const BASE = 231072;
const REMAP = `remap:${BASE}:65536`;
let el: EngineLiteRuntime | undefined;
let dir = '';
let link = '';

beforeAll(async () => {
  if (!isRoot || missing) return;
  dir = await mkdtemp('/tmp/tstest-userns-');
  await chmod(dir, 0o755);
  el = await engineLiteRuntime({ pluginsDir: dir });
}, 120_000);

afterAll(async () => {
  await el?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

afterEach(async () => {
  if (link) await tryRun(['ip', 'link', 'del', link]);
  link = '';
});

const run = async (flags: string[], script: string) => {
  const r = await el!.cli(['run', '--rm', ...flags, el!.image, 'sh', '-c', script]);
  return { code: r.code, out: r.stdout.trim(), err: r.stderr.trim() };
};

describe.skipIf(!isRoot || Boolean(missing))('engine-lite --userns remap', () => {
  it('runs as root inside, mapped to the unprivileged range, with the image owned by container root', async () => {
    const r = await run(['--network', 'none', '--userns', REMAP], 'id -u; cat /proc/self/uid_map /proc/self/gid_map; stat -c %u:%g /bin/sh /etc; touch /made && stat -c %u /made');
    expect(r.code, r.err).toBe(0);
    const [id, uidMap, gidMap, sh, etc, made] = r.out.split('\n').map((l) => l.trim().split(/\s+/).join(' '));
    expect(id).toBe('0');
    expect(uidMap).toBe(`0 ${BASE} 65536`);
    expect(gidMap).toBe(`0 ${BASE} 65536`);
    expect([sh, etc, made]).toEqual(['0:0', '0:0', '0']);
    const plain = await run(['--network', 'none'], 'cat /proc/self/uid_map');
    expect(plain.out.split(/\s+/)).toEqual(['0', '0', '4294967295']);
  });

  it('makes files in a bind mount owned on the host by the mapped uid', async () => {
    const shared = join(dir, 'shared');
    await mustRun(['mkdir', '-m', '1777', shared]);
    const r = await run(['--network', 'none', '--userns', REMAP, '-v', `${shared}:/b`], 'touch /b/root-file');
    expect(r.code, r.err).toBe(0);
    const s = await stat(join(shared, 'root-file'));
    expect([s.uid, s.gid]).toEqual([BASE, BASE]);
  });

  it('cannot write a host root-owned 0644 file bound in (container root is not host root)', async () => {
    const file = join(dir, 'host-owned');
    await writeFile(file, 'original\n', { mode: 0o644 });
    await chmod(file, 0o644);
    const r = await run(['--network', 'none', '--userns', REMAP, '-v', `${file}:/f`], 'echo changed > /f');
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/Permission denied/);
    expect(await readFile(file, 'utf8')).toBe('original\n');
    // The control: without --userns, root in the container writes it.
    const plain = await run(['--network', 'none', '-v', `${file}:/f`], 'echo changed > /f');
    expect(plain.code, plain.err).toBe(0);
    expect(await readFile(file, 'utf8')).toBe('changed\n');
  });

  it('cannot change a host link with CAP_NET_ADMIN inside (without --userns it can)', async () => {
    link = randomName('tstest-', 8);
    await mustRun(['ip', 'link', 'add', link, 'type', 'bridge']);
    const mtu = async () => (await readFile(`/sys/class/net/${link}/mtu`, 'utf8')).trim();
    const before = await mtu();
    const r = await run(['--network', 'host', '--cap-add', 'NET_ADMIN', '--userns', REMAP], `ip link set ${link} mtu 1280`);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/Operation not permitted/);
    expect(await mtu()).toBe(before);
    const plain = await run(['--network', 'host', '--cap-add', 'NET_ADMIN'], `ip link set ${link} mtu 1280`);
    expect(plain.code, plain.err).toBe(0);
    expect(await mtu()).toBe('1280');
  });

  it('exec joins the user namespace', async () => {
    const name = randomName('tsuserns-', 6);
    await el!.ok(['run', '-d', '--name', name, '--network', 'none', '--userns', REMAP, el!.image, 'sleep', '60']);
    try {
      const out = await el!.ok(['exec', name, 'sh', '-c', 'id -u; cat /proc/self/uid_map']);
      expect(out.split(/\s+/).filter(Boolean)).toEqual(['0', '0', String(BASE), '65536']);
    } finally {
      await el!.cli(['rm', '-f', name]);
    }
  });

  it('refuses --privileged and bad values with a clear error, creating nothing', async () => {
    const before = await el!.ok(['ps', '-aq']);
    for (const flags of [['--privileged', '--userns', 'remap'], ['--userns', 'remap:0'], ['--userns', 'private']]) {
      const r = await el!.cli(['run', '--rm', ...flags, el!.image, 'true']);
      expect(r.code, flags.join(' ')).toBe(125);
      expect(r.stderr).toMatch(/userns/);
    }
    expect(await el!.ok(['ps', '-aq'])).toBe(before);
  });
});
