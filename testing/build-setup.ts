/**
 * @module Vitest globalSetup of every project: brings the product build in dist/ and the test tools
 * in build/tools/ up to date (scripts/ensure-build.sh --tools) before any test runs, since tests start
 * the built plugins and CLIs (`dist/cli/tsnet.js`, `dist/engine-lite/cli.js`) and a few helpers as
 * their own processes (`build/tools/names/testing/fake-upstream.js`), while vitest runs the .ts tests
 * themselves.
 */
import { join } from 'node:path';
import { run } from '../common/kernel/exec.js';
import { repoRoot } from './system.js';

export default async function setup(): Promise<void> {
  await run(['sh', join(repoRoot(), 'scripts/ensure-build.sh'), '--tools'], { object: 'dist/', step: 'build', timeoutMs: 600_000 });
}
