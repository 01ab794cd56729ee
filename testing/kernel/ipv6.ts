/**
 * @module For the suite's IPv6 tests: skip, printing the reason, where IPv6 is off. The reason is the
 * product's own check ({@link ipv6Disabled}), so a test skips exactly where the plugins refuse IPv6.
 */
import type { TestContext } from 'vitest';
import { ipv6Disabled, type SysctlOptions } from '../../common/kernel/sysctl.js';

/** Skips the running test (with the reason, also printed) when IPv6 is off on this host or in `opts.netns`. */
export async function skipUnlessIpv6(ctx: TestContext, opts: SysctlOptions = {}): Promise<void> {
  const why = await ipv6Disabled(opts);
  if (why === undefined) return;
  console.warn(`skipped "${ctx.task.name}": ${why}`);
  ctx.skip(why);
}
