/**
 * @module Vitest globalSetup of the `integration` project: installs the Debian packages the suite needs,
 * makes sure a dockerd answers (starting one if needed) and that the busybox test image exists. The
 * teardown stops dockerd only if this setup started it. Without root it does nothing: the integration
 * tests skip themselves.
 */
import type { TestProject } from 'vitest/node';
import { ensureDockerd, ensurePackages, ensureTestImage } from '../system.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Image for `docker run` in integration tests; empty when the setup was skipped (not root). */
    testImage: string;
  }
}

/** Debian packages the integration tests use (dockerd, the image's busybox, firewall and link tools). */
export const INTEGRATION_PACKAGES = ['docker.io', 'busybox-static', 'iptables', 'iproute2'];

/** Prepares the machine once per `vitest run`; returns the teardown. */
export default async function setup({ provide }: TestProject): Promise<() => Promise<void>> {
  if (process.getuid?.() !== 0) {
    console.warn('integration setup skipped: not root, so the integration tests will skip');
    provide('testImage', '');
    return async () => undefined;
  }
  await ensurePackages(INTEGRATION_PACKAGES);
  const dockerd = await ensureDockerd();
  try {
    provide('testImage', await ensureTestImage());
  } catch (err) {
    await dockerd.stop();
    throw err;
  }
  return () => dockerd.stop();
}
