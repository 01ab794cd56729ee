/**
 * @module Shared set-up of the unit tests: a temporary state directory, the in-memory store and a
 * {@link FakeHost}, and a way to (re)open the plugin on them as a restarted process would.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { createLogger } from '../../common/log.js';
import { volumeRequests } from '../../common/protocol/volume-api.js';
import { MemoryStore } from '../../common/store/memory-store.js';
import type { VolumeAdmin } from '../admin.js';
import type { VolumeDriver } from '../driver.js';
import { createFakeHost, type FakeHost } from './fake-host.js';
import { openVolumes } from '../plugin.js';
import { VOLUMES_COLLECTION, type VolumeRecord } from '../record.js';

/** What a unit test gets from {@link createUnitFixture}. */
export interface UnitFixture {
  stateDir: string;
  /** The volumes root, `<stateDir>/volumes`. */
  root: string;
  /** `<stateDir>/mnt` when created with `mountDir`, else undefined. */
  mountDir: string | undefined;
  store: MemoryStore;
  host: FakeHost;
  driver: VolumeDriver;
  admin: VolumeAdmin;
  /** `<root>/<name>/_data`. */
  data(name: string): string;
  /** Create with the options parsed by the request schema, as the server would call it. */
  create(name: string, opts?: Record<string, string> | null): Promise<object>;
  /** The stored records. */
  records(): Promise<Array<[string, VolumeRecord]>>;
  /** Opens the plugin again on the same store and host (a restart); replaces `driver` and `admin`. */
  reopen(): Promise<void>;
  cleanup(): Promise<void>;
}

/**
 * A fresh fixture with the plugin opened once; with `mountDir`, Mountpoints are published under
 * `<stateDir>/mnt`; with `hostRoot`, directory volumes' paths are reached below it (`--host-root`);
 * `stateParent` is where the state directory is made (default the system's temporary directory).
 */
export async function createUnitFixture(opts: { mountDir?: boolean; hostRoot?: string; stateParent?: string } = {}): Promise<UnitFixture> {
  const stateDir = await mkdtemp(join(opts.stateParent ?? tmpdir(), 'tstest-vol-unit-'));
  const mountDir = opts.mountDir ? join(stateDir, 'mnt') : undefined;
  const log = createLogger({ stream: new PassThrough() });
  const fx: UnitFixture = {
    stateDir,
    root: join(stateDir, 'volumes'),
    mountDir,
    store: new MemoryStore(),
    host: createFakeHost(),
    driver: undefined as unknown as VolumeDriver,
    admin: undefined as unknown as VolumeAdmin,
    data: (name) => join(fx.root, name, '_data'),
    // Only Opts through the schema: the protocol layer refuses a bad Name before the driver, and the
    // tests here check that the driver refuses it too.
    create: (Name, Opts = null) => fx.driver.create({ Name, Opts: volumeRequests.Create.shape.Opts.parse(Opts) }),
    records: () => fx.store.collection<VolumeRecord>(VOLUMES_COLLECTION).entries(),
    async reopen() {
      ({ driver: fx.driver, admin: fx.admin } = await openVolumes({ stateDir, store: fx.store, log, host: fx.host, ...(mountDir !== undefined && { mountDir }), ...(opts.hostRoot !== undefined && { hostRoot: opts.hostRoot }) }));
    },
    cleanup: () => rm(stateDir, { recursive: true, force: true }),
  };
  await fx.reopen();
  return fx;
}
