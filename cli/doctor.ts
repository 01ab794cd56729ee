/**
 * @module `tsnet doctor [--fix] [--json]`: asks each running plugin (its admin `Check` call, inside the
 * process holding the store) how the host differs from its records, and, when dockerd answers, compares
 * Docker's networks, endpoints and volumes of our drivers with the suite's. One line per finding; exit
 * code 1 while anything differs. `--fix` asks each plugin to `Repair` (rebuild from the store, remove
 * what no record owns), then checks again. Without `--fix` nothing is changed.
 */
import type { Command } from 'commander';
import { AdminRefusedError, adminCall, NotRunningError, pluginsDirOption, resolveAdminSocket } from '../common/admin-cli.js';
import { formatFinding, type Finding } from '../common/finding.js';
import type { PluginKind } from '../common/plugin.js';
import { PluginCallError } from '../common/protocol/client.js';
import type { DockerApi } from '../docker-sync/docker-api.js';
import { DEFAULT_DOCKER_HOST } from '../docker-sync/docker-host.js';
import type { TsnetNetworkResponses } from '../network-driver/admin-api.js';
import type { AdminResponses } from '../volume-driver/admin-api.js';

const short = (id: string) => id.slice(0, 12);
const CHECKED: PluginKind[] = ['network', 'volume'];
const PLUGIN: Record<PluginKind, string> = { network: 'tsnet', ipam: 'tsipam', volume: 'tsvol' };

interface DoctorOptions {
  pluginsDir: string;
  dockerHost: string;
  fix?: boolean;
  json?: boolean;
}

const mismatch = (Object: string, Expected: string, Found: string): Finding => ({ Plugin: 'docker', Object, Expected, Found, Fixable: false });

/** Whether `err` says the process on the shared socket does not serve that plugin (`tsnet serve --only …` without it): nothing to check. */
const notServed = (err: unknown) => err instanceof AdminRefusedError && err.cause instanceof PluginCallError && err.cause.status === 404;

/** Each running plugin's findings; a plugin that is not running is a finding itself. */
async function pluginFindings(pluginsDir: string): Promise<Finding[]> {
  const out: Finding[] = [];
  for (const kind of CHECKED) {
    try {
      out.push(...(await adminCall<{ Findings: Finding[] }>(pluginsDir, kind, 'Check', {})).Findings);
    } catch (err) {
      if (notServed(err)) continue;
      if (!(err instanceof NotRunningError)) throw err;
      out.push({ Plugin: PLUGIN[kind], Object: `plugin ${PLUGIN[kind]}`, Expected: 'serving', Found: err.message, Fixable: false });
    }
  }
  return out;
}

/**
 * Where Docker and the suite disagree: each side's networks, endpoints and volumes the other lacks.
 * Empty when dockerd does not answer at all; one finding naming dockerd when it answers its ping but a
 * read then fails or times out (a volume list waiting on a dead volume plugin, say): the comparison is
 * then unknown, which is not "no drift".
 */
async function dockerFindings(o: DoctorOptions): Promise<Finding[]> {
  if (o.dockerHost === 'none') return [];
  const [{ DockerApi }, { driverNamesOf }] = await Promise.all([import('../docker-sync/docker-api.js'), import('../docker-sync/sources.js')]);
  const docker = new DockerApi(o.dockerHost);
  if (!(await docker.ping())) return [];
  const sockets = await Promise.all(CHECKED.map((k) => resolveAdminSocket(o.pluginsDir, k).catch(() => '')));
  const names = new Set(await driverNamesOf(o.pluginsDir, sockets.filter((s) => s !== '')));
  try {
    return await compareWithDocker(o, docker, names);
  } catch (err) {
    if (err instanceof NotRunningError || err instanceof AdminRefusedError) throw err;
    return [mismatch(`dockerd at ${o.dockerHost}`, "answers the reads doctor compares (networks, volumes)", `${(err as Error).message}; Docker's side was not compared`)];
  }
}

/** {@link dockerFindings}' comparison; `names` are the driver names dockerd knows our plugins by. */
async function compareWithDocker(o: DoctorOptions, docker: DockerApi, names: ReadonlySet<string>): Promise<Finding[]> {
  const out: Finding[] = [];
  const ours = (await adminCall<TsnetNetworkResponses['Status']>(o.pluginsDir, 'network', 'Status', { NetworkID: '' })).Networks;
  const oursById = new Map(ours.map((n) => [n.ID, n]));
  const theirs = (await docker.networks()).filter((n) => names.has(n.Driver));
  for (const dn of theirs) {
    const net = oursById.get(dn.Id);
    if (!net) {
      out.push(mismatch(`network ${dn.Name} (${short(dn.Id)})`, 'a tsnet record (Docker has the network)', 'none'));
      continue;
    }
    const eps = new Set(net.Endpoints.map((e) => e.ID));
    const dockerEps = new Set(Object.values(dn.Containers ?? {}).flatMap((c) => (c.EndpointID ? [c.EndpointID] : [])));
    for (const id of dockerEps) if (!eps.has(id)) out.push(mismatch(`endpoint ${short(id)} of network ${dn.Name}`, 'a tsnet record (Docker has the endpoint)', 'none'));
    for (const e of net.Endpoints) if (e.Joined && !dockerEps.has(e.ID)) out.push(mismatch(`endpoint ${short(e.ID)} of network ${dn.Name}`, 'a Docker endpoint (tsnet has it joined)', 'none'));
  }
  const dockerNets = new Set(theirs.map((n) => n.Id));
  for (const net of ours) if (!dockerNets.has(net.ID)) out.push(mismatch(`network ${short(net.ID)}`, 'a Docker network (tsnet has the record)', 'none'));
  const vols = (await adminCall<AdminResponses['List']>(o.pluginsDir, 'volume', 'List', { Fresh: false }).catch(() => ({ Volumes: [] }))).Volumes.map((v) => v.Name);
  const dockerVols = (await docker.volumes([...names])).filter((v) => names.has(v.Driver)).map((v) => v.Name);
  for (const v of dockerVols) if (!vols.includes(v)) out.push(mismatch(`volume ${v}`, 'a tsvol record (Docker has the volume)', 'none'));
  for (const v of vols) if (!dockerVols.includes(v)) out.push(mismatch(`volume ${v}`, 'a Docker volume (tsvol has the record)', 'none'));
  return out;
}

async function findings(o: DoctorOptions): Promise<Finding[]> {
  return [...(await pluginFindings(o.pluginsDir)), ...(await dockerFindings(o))];
}

/** Runs doctor; returns the exit code (0: the host is what the records say). */
export async function runDoctor(o: DoctorOptions, out: { write(s: string): unknown }): Promise<number> {
  const before = await findings(o);
  let after = before;
  if (o.fix && before.length > 0) {
    for (const kind of CHECKED) await adminCall(o.pluginsDir, kind, 'Repair', {}).catch((err: unknown) => {
      if (!(err instanceof NotRunningError) && !notServed(err)) throw err;
    });
    after = await findings(o);
  }
  if (o.json) {
    out.write(`${JSON.stringify(o.fix ? { Found: before, Remaining: after } : { Findings: before }, null, 2)}\n`);
  } else {
    const lines = before.map(formatFinding);
    if (o.fix && before.length > 0) lines.push(after.length === 0 ? `fixed: ${before.length} finding(s); the host now matches the records` : `after --fix, still:`, ...after.map(formatFinding));
    out.write(`${lines.length === 0 ? 'no drift: the host matches the records' : lines.join('\n')}\n`);
  }
  return after.length === 0 ? 0 : 1;
}

export function registerDoctorCommand(program: Command, out: { write(s: string): unknown } = process.stdout): void {
  program
    .command('doctor')
    .description("compare what the plugins' records say must exist with the kernel (and Docker); exit 1 on drift")
    .addOption(pluginsDirOption())
    .option('--docker-host <url>', 'the dockerd to compare with, or "none" (env TSNET_DOCKER_HOST)', process.env.TSNET_DOCKER_HOST ?? DEFAULT_DOCKER_HOST)
    .option('--fix', 'repair what the records describe and remove what no record owns, then check again')
    .option('--json', 'print the findings as JSON')
    .action(async (o: DoctorOptions) => {
      process.exitCode = await runDoctor(o, out);
    });
}
