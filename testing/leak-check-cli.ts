/**
 * @module `npm run leak-check -- [--dry-run] [--match TEXT]` (built into build/tools/testing/leak-check-cli.js): lists every
 * leftover of the test suite on this host, one line each, and removes it (unless `--dry-run`); `--match`
 * limits it to leftovers whose line contains TEXT. While another vitest or bench run is active it only
 * reports. Exits 1 if anything was found (or could not be checked), 0 if the host is clean, 2 on a
 * usage error. `npm test` runs it after vitest.
 */
import { otherRuns, sweepLeaks } from './leak-check.js';

const USAGE = 'usage: leak-check-cli [--dry-run] [--match TEXT]';

async function main(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  let dryRun = false;
  let match: string | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--dry-run') dryRun = true;
    else if (args[i] === '--match' && args[i + 1] !== undefined) match = args[++i];
    else {
      console.error(`leak check: unexpected argument ${args[i]}\n${USAGE}`);
      return 2;
    }
  }
  if (process.getuid?.() !== 0) console.error('leak check: not root, so some leftovers may be invisible or not removable');
  const others = await otherRuns();
  if (others.length > 0 && !dryRun) {
    // Its namespaces, plugins and containers look exactly like leftovers; removing them would break it.
    console.log(`leak check: another test or bench run is active (pids ${others.join(' ')}), so this only reports`);
    dryRun = true;
  }
  const { found, failed } = await sweepLeaks({ dryRun, match });
  if (found === 0 && failed === 0) console.log('leak check: nothing left behind');
  else console.log(`leak check: ${found} leftover(s) found${failed ? `, ${failed} not removed or not checked` : ''}`);
  return found === 0 && failed === 0 ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
