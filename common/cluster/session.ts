/**
 * @module This host's {@link ClusterSession}: a host ID kept in the state directory, the advertise
 * address resolved on the local interfaces, and two leases kept alive every ttl/3 seconds: the *live*
 * lease holds `/tsnet/v1/hosts/<hostId>` (`{vtep, mtu, since}`), the *hold* lease holds
 * `/tsnet/v1/held/<hostId>`. Lease IDs are saved in `cluster-leases.json`, and taken over at start
 * when etcd still knows them, so a plugin restart within the TTL is invisible to the other hosts. A
 * lease that expired meanwhile (etcd was away for longer) is granted anew and its key put again; after
 * a new live lease, every `onRenewed` callback runs, so that keys on the old lease are put again.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errorFields, type Logger } from '../log.js';
import { resolveAdvertise } from './advertise.js';
import { EtcdUnavailableError } from './etcd-client.js';
import { KEY_ROOT, type ClusterSession, type EtcdClient } from './types.js';

/** `/tsnet/v1/hosts/<hostId>`: present while the host is alive (live lease); `{vtep, mtu, since}`. */
export const HOSTS_PREFIX = `${KEY_ROOT}hosts/`;
/** `/tsnet/v1/held/<hostId>`: present for the grace period after the host was last seen (hold lease). */
export const HELD_PREFIX = `${KEY_ROOT}held/`;

const HOST_ID_FILE = 'host-id';
const LEASES_FILE = 'cluster-leases.json';
const RETRY_MS = 500;

export interface ClusterSessionOptions {
  client: EtcdClient;
  /** Where the host ID and lease IDs are kept; made if missing. */
  stateDir: string;
  /** `--advertise-addr`: an IP address of this host, or an interface name. */
  advertise: string;
  /** TTL of the live lease (`--cluster-ttl`); default 10. */
  ttlSeconds?: number;
  /** TTL of the hold lease (`--cluster-grace`); default 3600. */
  graceSeconds?: number;
  log: Logger;
  /** How long start-up waits for etcd before giving up; default 10 s. */
  startTimeoutMs?: number;
  /** Resolve `advertise` in this network namespace instead of ours (tests). */
  netns?: string;
}

interface Leases {
  live: string;
  hold: string;
  /** The TTLs they were granted with: a lease of other settings is not taken over. */
  ttl: number;
  grace: number;
}

/**
 * Joins the cluster: resolves the advertise address, takes over or grants the leases, puts the host
 * and hold keys, and starts the keep-alives.
 * @throws Error for a bad advertise address, or when etcd does not answer within `startTimeoutMs`.
 */
export async function openClusterSession(opts: ClusterSessionOptions): Promise<ClusterSession> {
  const { client, stateDir, log } = opts;
  const ttl = opts.ttlSeconds ?? 10;
  const grace = opts.graceSeconds ?? 3600;
  const adv = await resolveAdvertise(opts.advertise, opts.netns === undefined ? {} : { netns: opts.netns });
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const hostId = await loadHostId(join(stateDir, HOST_ID_FILE));
  const leasesFile = join(stateDir, LEASES_FILE);
  const hostKey = `${HOSTS_PREFIX}${hostId}`;
  const heldKey = `${HELD_PREFIX}${hostId}`;
  const since = new Date().toISOString();
  const hostValue = JSON.stringify({ vtep: adv.addr, mtu: adv.mtu, since });
  const heldValue = JSON.stringify({ vtep: adv.addr, since });

  /** A saved lease of the same TTL when etcd still has it, else a new one. */
  const takeOver = async (saved: string | undefined, sameTtl: boolean, seconds: number) =>
    saved && sameTtl && (await client.keepAlive(saved)) > 0 ? saved : await client.grantLease(seconds);

  const start = async (): Promise<Leases> => {
    const saved = await readLeases(leasesFile);
    const live = await takeOver(saved?.live, saved?.ttl === ttl, ttl);
    const leases = { live, hold: await takeOver(saved?.hold, saved?.grace === grace, grace), ttl, grace };
    await saveLeases(leasesFile, leases);
    await client.put(hostKey, hostValue, { lease: leases.live });
    await client.put(heldKey, heldValue, { lease: leases.hold });
    log.info('joined the cluster', { hostId, vtep: adv.addr, link: adv.link, mtu: adv.mtu, liveLease: leases.live, taken: leases.live === saved?.live });
    return leases;
  };

  const deadline = Date.now() + (opts.startTimeoutMs ?? 10_000);
  let leases: Leases;
  for (let attempt = 0; ; ) {
    try {
      leases = await start();
      break;
    } catch (err) {
      if (!(err instanceof EtcdUnavailableError)) throw err;
      if (Date.now() >= deadline) {
        throw new Error(`${err.message}; tsnet serve does not start without its cluster store (check --cluster-store and that etcd runs)`, { cause: err });
      }
      if (attempt++ === 0) log.warn('waiting for etcd', errorFields(err));
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
  }

  let closed = false;
  let outage = false;
  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> = Promise.resolve();

  const callbacks: Array<() => Promise<void>> = [];
  /** Callbacks to run now, and those that failed and wait for the next keep-alive. */
  const pending = new Set<() => Promise<void>>();
  const failed = new Set<() => Promise<void>>();
  let running = false;
  /** Runs the pending callbacks one at a time. */
  const runPending = async () => {
    if (running) return;
    running = true;
    for (let fn = first(pending); fn && !closed; fn = first(pending)) {
      pending.delete(fn);
      await fn().catch((err: unknown) => {
        failed.add(fn!);
        log.warn('putting keys again after a lease renewal failed; retrying at the next keep-alive', errorFields(err));
      });
    }
    running = false;
  };

  /** Each lease's key; `unput`: the lease was granted anew and the key is not yet on it. */
  const owned = {
    live: { seconds: ttl, key: hostKey, value: hostValue, unput: false },
    hold: { seconds: grace, key: heldKey, value: heldValue, unput: false },
  };
  /** Renews one lease, or grants it anew and puts its key again. @returns whether it was granted anew. */
  const keep = async (which: keyof typeof owned): Promise<boolean> => {
    const o = owned[which];
    if ((await client.keepAlive(leases[which])) === 0) {
      leases = { ...leases, [which]: await client.grantLease(o.seconds) };
      await saveLeases(leasesFile, leases);
      o.unput = true;
      log.warn(`the ${which} lease had expired (etcd was away); granted a new one`, { lease: leases[which] });
    }
    if (!o.unput) return false;
    await client.put(o.key, o.value, { lease: leases[which] });
    o.unput = false;
    return true;
  };
  const renew = async () => {
    if (await keep('live')) for (const fn of callbacks) pending.add(fn);
    await keep('hold');
  };
  const tick = async () => {
    try {
      await renew();
      if (outage) log.info('etcd answers again; cluster leases renewed');
      outage = false;
    } catch (err) {
      if (!outage) log.warn('cannot renew the cluster leases; retrying until etcd answers', errorFields(err));
      outage = true;
    }
    if (!outage) {
      for (const fn of failed) pending.add(fn);
      failed.clear();
      void runPending();
    }
    schedule();
  };
  const schedule = () => {
    if (closed) return;
    timer = setTimeout(() => (ticking = tick()), (ttl * 1000) / 3);
    timer.unref();
  };
  schedule();

  return {
    client,
    hostId,
    advertiseAddr: adv.addr,
    advertiseMtu: adv.mtu,
    liveLease: () => leases.live,
    onRenewed(fn) {
      callbacks.push(fn);
      pending.add(fn);
      setImmediate(() => void runPending());
    },
    async isHeld(id) {
      return (await client.get(`${HELD_PREFIX}${id}`)) !== undefined;
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      await ticking;
    },
  };
}

const first = <T>(set: Set<T>): T | undefined => set.values().next().value;

/** The host ID in `file`, written there first if missing. */
async function loadHostId(file: string): Promise<string> {
  try {
    const id = (await readFile(file, 'utf8')).trim();
    if (!/^[0-9a-f]{16}$/.test(id)) throw new Error(`${file} does not hold a host ID (16 hex digits); remove it to get a new one`);
    return id;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const id = randomBytes(8).toString('hex');
  await writeFile(file, `${id}\n`, { flag: 'wx', mode: 0o600 });
  return id;
}

async function readLeases(file: string): Promise<Partial<Leases> | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Partial<Leases>;
  } catch {
    return undefined; // missing or unreadable: new leases
  }
}

async function saveLeases(file: string, leases: Leases): Promise<void> {
  await writeFile(`${file}.tmp`, JSON.stringify(leases) + '\n', { mode: 0o600 });
  await rename(`${file}.tmp`, file);
}
