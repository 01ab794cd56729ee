/**
 * @module Overlay mode with a real cluster session (real etcd, the recording fake kernel): what restore
 * registers on the session. `tsnet doctor --fix` runs restore again in the same process, so anything
 * restore hooks must be hooked once.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { describe, expect, it, onTestFinished } from 'vitest';
import { openClusterSession } from '../../../common/cluster/session.js';
import { createLogger } from '../../../common/log.js';
import { useTestEtcd } from '../../../testing/cluster/etcd.js';
import { isRoot } from '../../../testing/kernel/netns.js';
import { fakeKernel } from '../testing/fake-kernel.js';
import { createOverlayMode } from './overlay-mode.js';

const etcd = useTestEtcd();

describe.skipIf(!isRoot)('overlay mode on a cluster session', () => {
  it('asks the session to re-publish on a new lease once, however often restore runs', async () => {
    const log = createLogger({ level: 'error' });
    const stateDir = `/tmp/tstest-ovl-${randomBytes(4).toString('hex')}`;
    onTestFinished(() => rm(stateDir, { recursive: true, force: true }));
    const session = await openClusterSession({ client: etcd.client, stateDir, advertise: '127.0.0.1', ttlSeconds: 5, log });
    onTestFinished(() => session.close());
    let hooks = 0;
    const onRenewed = session.onRenewed.bind(session);
    const counted = Object.assign(Object.create(session) as typeof session, {
      onRenewed: (fn: () => Promise<void>) => {
        hooks++;
        onRenewed(fn);
      },
    });
    const mode = createOverlayMode({ kernel: fakeKernel(), tag: 'tstestovl', log, cluster: counted });
    onTestFinished(() => mode.close?.());
    for (let i = 0; i < 3; i++) await mode.restore([], []);
    expect(hooks).toBe(1);
  });
});
