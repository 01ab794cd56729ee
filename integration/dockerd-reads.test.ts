/**
 * What `tsnet serve` asks the host's dockerd, counted by `tsnet_dockerd_requests_total` on `/metrics`:
 * with 30 idle containers (`docker create`, never started) on the host, starting a container on a tsnet
 * network and removing another one cost a list and an inspect of the container that changed, not one
 * inspect per container (before the names cache and the list-based agreement, each such event inspected
 * every container, twice on a removal). The names still come and go (asked from inside a container, of
 * a name service on an address of a bridge the test made), and agreement, reading Docker through the
 * list and inspecting only networks that can be ours, still releases an endpoint Docker does not know
 * while keeping the container's endpoint and tsipam address.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../network-driver/modes/testing/fixture-world.js';
import { cliPath, pluginCall, startSuite, type SuiteHandle } from '../testing/docker/plugin-harness.js';
import { dockerRuntime, type Runtime } from '../testing/docker/runtime.js';
import { freeSubnets } from '../testing/kernel/subnets.js';
import { mustRun, pollUntil, tryRun } from '../testing/system.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('dockerd reads tests skipped: they need root (dockerd, links)');

const IDLE = 30;
/** Agreement judges an object 10 s after first seeing it (SETTLE_MS); polls allow for that and a pass. */
const AGREE_MS = 45_000;

const hex = randomBytes(3).toString('hex');
const dnsLink = `tstestdr${hex}`;
const net = `tstest-dr-${hex}`;
const idle = Array.from({ length: IDLE }, (_, i) => `tstest-dr-${hex}-idle${i}`);
const web = `tstest-dr-${hex}-web`;
const tmp = `tstest-dr-${hex}-tmp`;

let suite: SuiteHandle | undefined;
let rt: Runtime;
let base = '';
let dnsAddr = '';
let netId = '';

beforeAll(async () => {
  if (!isRoot) return;
  const [subnet, dnsSubnet] = await freeSubnets(2, { family: 4, prefixLen: 24 });
  dnsAddr = dnsSubnet!.replace(/\.0\/24$/, '.53');
  // The name service's address, on an empty bridge of this test's own (what serve makes as tsdns0 otherwise).
  await mustRun(['ip', 'link', 'add', dnsLink, 'type', 'bridge']);
  await mustRun(['ip', 'addr', 'add', `${dnsAddr}/32`, 'dev', dnsLink]);
  await mustRun(['ip', 'link', 'set', dnsLink, 'up']);
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  suite = await startSuite({ only: ['network', 'ipam'], sync: { dockerHost: 'unix:///var/run/docker.sock' }, dnsAddr, args: ['--metrics-addr', `127.0.0.1:${port}`] });
  rt = dockerRuntime(suite, inject('testImage'));
  netId = (await rt.ok(['network', 'create', '-d', rt.drivers.network, '--ipam-driver', rt.drivers.ipam, '--subnet', subnet!, net])).trim();
  for (let i = 0; i < IDLE; i += 10) await Promise.all(idle.slice(i, i + 10).map((c) => rt.ok(['create', '--name', c, rt.image, 'true'])));
}, 180_000);

afterAll(async () => {
  if (!isRoot) return;
  for (let i = 0; i < idle.length; i += 10) await Promise.all(idle.slice(i, i + 10).map((c) => tryRun(['docker', 'rm', '-f', c])));
  await tryRun(['docker', 'rm', '-f', web, tmp]);
  await tryRun(['docker', 'network', 'rm', net]);
  await suite?.stop();
  await tryRun(['ip', 'link', 'del', dnsLink]);
}, 120_000);

/** `tsnet_dockerd_requests_total` by request. */
async function requests(): Promise<Record<string, number>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return Object.fromEntries([...text.matchAll(/^tsnet_dockerd_requests_total\{request="(\w+)"\} (\d+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
}

/** The counts once they have not moved for 2 s (the reads an event caused are over), waiting at most 20 s. */
async function settled(): Promise<Record<string, number>> {
  let last = JSON.stringify(await requests());
  let still = 0;
  await pollUntil(
    async () => {
      const now = JSON.stringify(await requests());
      still = now === last ? still + 1 : 0;
      last = now;
      return still >= 4;
    },
    { timeoutMs: 20_000, intervalMs: 500 },
  );
  return JSON.parse(last) as Record<string, number>;
}

const delta = (after: Record<string, number>, before: Record<string, number>, request: string) => (after[request] ?? 0) - (before[request] ?? 0);

/** busybox nslookup of `name` in container `c`, asking the name service: the addresses answered. */
async function lookup(c: string, name: string): Promise<string[]> {
  const r = await rt.cli(['exec', c, 'nslookup', name, dnsAddr]);
  if (r.code !== 0) return [];
  return [...r.stdout.split('\n').slice(2).join('\n').matchAll(/Address: (\S+)/g)].map((m) => m[1]!);
}
const ipOf = async (c: string) => (await rt.ok(['inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, c])).trim();
const logTail = () => suite!.logs().split('\n').filter((l) => !l.includes('"msg":"request"')).join('\n').slice(-6000);

interface Status {
  Networks: Array<{ ID: string; Endpoints: Array<{ ID: string }> }>;
}
async function admin<T>(args: string[]): Promise<T> {
  return JSON.parse((await mustRun([process.execPath, cliPath(), ...args, '--plugins-dir', suite!.pluginsDir, '--json'])).stdout) as T;
}
const endpointsOf = async () => (await admin<Status>(['status'])).Networks.find((n) => n.ID === netId)?.Endpoints.map((e) => e.ID) ?? [];
const usedOf = async () => (await admin<Array<{ Subnet: string; Used: string }>>(['ipam', 'ls'])).map((p) => p.Used);

describe.skipIf(!isRoot)(`dockerd reads with ${IDLE} idle containers on the host`, () => {
  it('a container start costs a list and an inspect of that container, and its name resolves', { timeout: 60_000 }, async () => {
    const before = await settled();
    await rt.ok(['run', '-d', '--name', web, '--network', net, rt.image, 'sleep', '600']);
    const ip = await ipOf(web);
    expect(await pollUntil(async () => (await lookup(web, web)).includes(ip), { timeoutMs: 10_000, intervalMs: 250 }), logTail()).toBe(true);
    const after = await settled();
    console.log(`container start with ${IDLE} idle containers: dockerd requests ${JSON.stringify(Object.fromEntries(Object.keys(after).map((k) => [k, delta(after, before, k)])))}`);
    expect(delta(after, before, 'list_containers')).toBeGreaterThanOrEqual(1);
    expect(delta(after, before, 'inspect_container')).toBeGreaterThanOrEqual(1);
    expect(delta(after, before, 'inspect_container')).toBeLessThanOrEqual(3);
  });

  it('a container removal costs no inspect of the idle containers; its name goes, agreement keeps what runs', { timeout: 60_000 }, async () => {
    await rt.ok(['run', '-d', '--name', tmp, '--network', net, rt.image, 'sleep', '600']);
    const ip = await ipOf(tmp);
    expect(await pollUntil(async () => (await lookup(web, tmp)).includes(ip), { timeoutMs: 10_000, intervalMs: 250 }), logTail()).toBe(true);
    const before = await settled();
    await rt.ok(['rm', '-f', tmp]);
    expect(await pollUntil(async () => (await lookup(web, tmp)).length === 0, { timeoutMs: 10_000, intervalMs: 250 }), logTail()).toBe(true);
    const after = await settled();
    console.log(`container removal with ${IDLE} idle containers: dockerd requests ${JSON.stringify(Object.fromEntries(Object.keys(after).map((k) => [k, delta(after, before, k)])))}`);
    // The removal's events (die, disconnect, destroy) start an agreement pass and names reads.
    expect(delta(after, before, 'list_networks')).toBeGreaterThanOrEqual(1);
    expect(delta(after, before, 'list_containers')).toBeGreaterThanOrEqual(2);
    expect(delta(after, before, 'inspect_container')).toBeLessThanOrEqual(3);
    expect(await lookup(web, web)).toEqual([await ipOf(web)]);
  });

  it('agreement releases an endpoint Docker does not know and keeps the running container\'s endpoint and address', { timeout: AGREE_MS + 30_000 }, async () => {
    const webEndpoint = JSON.parse(await rt.ok(['inspect', '-f', '{{json .NetworkSettings.Networks}}', web])) as Record<string, { EndpointID: string }>;
    const kept = webEndpoint[net]!.EndpointID;
    const used = await usedOf();
    const leaked = randomBytes(32).toString('hex');
    const made = await pluginCall(suite!.sockets.network, 'NetworkDriver.CreateEndpoint', { NetworkID: netId, EndpointID: leaked, Interface: { Address: '', AddressIPv6: '', MacAddress: '' }, Options: {} });
    expect(made.status, made.text).toBe(200);
    expect(await endpointsOf()).toContain(leaked);
    // A removal is an event agreement acts on; the endpoint, too new then, is judged by the pass 10 s later.
    await rt.ok(['create', '--name', tmp, rt.image, 'true']);
    await rt.ok(['rm', tmp]);
    expect(await pollUntil(async () => !(await endpointsOf()).includes(leaked), { timeoutMs: AGREE_MS, intervalMs: 500 }), logTail()).toBe(true);
    expect(await endpointsOf()).toEqual([kept]);
    expect(await usedOf()).toEqual(used);
    expect(suite!.logs()).toMatch(/"msg":"released endpoint"/);
  });
});
