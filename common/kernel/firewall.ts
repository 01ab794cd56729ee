/**
 * @module iptables chains owned by the suite (`TSNET-…`). Every change is one script per family fed
 * to `iptables-restore --noflush` / `ip6tables-restore --noflush` on stdin, never one process per
 * rule. Each table's section commits atomically; a script that touches several tables is not
 * atomic across them (iptables-nft commits each `COMMIT` separately), so callers re-apply on error.
 * It never flushes, deletes or edits a chain it does not own, and never writes Docker's chains.
 *
 * Cost: rewriting one network's chain is one restore with that chain's rules, whatever the number
 * of networks; a jump costs one `iptables-save -t TABLE` read more, and is written only when missing.
 */
import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { KernelError, KernelFeatureMissingError } from './errors.js';
import { run } from './exec.js';
import {
  addChainContents,
  addChainDeletion,
  addJump,
  chainsWithPrefix,
  FIREWALL_TABLES,
  isBuiltinChain,
  parseSave,
  renderBatch,
  validateChain,
  validateChainName,
  validateJump,
  type ChainSpec,
  type FirewallTable,
  type JumpSpec,
  type RestoreBatch,
  type SavedTable,
} from './firewall-rules.js';

export type { ChainSpec, FirewallTable, JumpSpec } from './firewall-rules.js';
export { CHAIN_PREFIX, MAX_CHAIN_NAME } from './firewall-rules.js';

/** Where a firewall call acts: the IP family, and a named network namespace (default: this one). */
export interface FirewallTarget {
  family: 4 | 6;
  netns?: string;
}

const PROGRAMS = {
  4: { restore: 'iptables-restore', save: 'iptables-save' },
  6: { restore: 'ip6tables-restore', save: 'ip6tables-save' },
} as const;

const found = new Map<string, Promise<boolean>>();

async function onPath(program: string): Promise<boolean> {
  const dirs = (process.env['PATH'] ?? '').split(delimiter).concat(['/usr/sbin', '/sbin']);
  for (const dir of dirs) {
    if (dir === '') continue;
    try {
      await access(join(dir, program), constants.X_OK);
      return true;
    } catch {
      // try the next directory
    }
  }
  return false;
}

async function requireProgram(program: string): Promise<void> {
  let p = found.get(program);
  if (!p) {
    p = onPath(program);
    found.set(program, p);
  }
  if (!(await p)) throw new KernelFeatureMissingError('iptables', `${program} is not installed (looked on PATH, /usr/sbin, /sbin)`);
}

function where(target: FirewallTarget): string {
  return `IPv${target.family} firewall${target.netns ? ` in netns "${target.netns}"` : ''}`;
}

function inNetns(target: FirewallTarget, argv: string[]): string[] {
  return target.netns ? ['ip', 'netns', 'exec', target.netns, ...argv] : argv;
}

// Read-plan-write sequences on one firewall are serialised within this process, so two concurrent
// ensureJump calls cannot both see the jump missing and both add it.
const queues = new Map<string, Promise<unknown>>();

function serialised<T>(target: FirewallTarget, fn: () => Promise<T>): Promise<T> {
  const key = `${target.family}|${target.netns ?? ''}`;
  const prev = queues.get(key) ?? Promise.resolve();
  const next = prev.then(fn, fn);
  const settled = next.catch(() => undefined);
  queues.set(key, settled);
  void settled.then(() => {
    if (queues.get(key) === settled) queues.delete(key);
  });
  return next;
}

async function save(target: FirewallTarget, table?: FirewallTable): Promise<Map<FirewallTable, SavedTable>> {
  const prog = PROGRAMS[target.family].save;
  await requireProgram(prog);
  const argv = table ? [prog, '-t', table] : [prog];
  const { stdout } = await run(inNetns(target, argv), { object: where(target), step: 'read' });
  return parseSave(stdout);
}

async function restore(target: FirewallTarget, batch: RestoreBatch, step: string): Promise<boolean> {
  const script = renderBatch(batch);
  if (script === '') return false;
  const prog = PROGRAMS[target.family].restore;
  await requireProgram(prog);
  await run(inNetns(target, [prog, '--noflush', '--wait']), { object: where(target), step, input: script });
  return true;
}

async function planJumps(target: FirewallTarget, batch: RestoreBatch, jumps: readonly JumpSpec[], replaced: readonly ChainSpec[]): Promise<void> {
  const tables = [...new Set(jumps.map((j) => j.table))];
  const saved = new Map<FirewallTable, SavedTable | undefined>();
  for (const table of tables) {
    // Skip the read when every jump of this table starts in a chain this batch rewrites anyway.
    const needsRead = jumps.some((j) => j.table === table && !replaced.some((c) => c.table === table && c.name === j.from));
    saved.set(table, needsRead ? (await save(target, table)).get(table) : undefined);
  }
  for (const jump of jumps) {
    const rewritten = replaced.find((c) => c.table === jump.table && c.name === jump.from);
    let current = rewritten?.rules ?? saved.get(jump.table)?.chains.get(jump.from);
    if (current === undefined) {
      // iptables-nft creates a table's built-in chains only when something first uses the table.
      if (!isBuiltinChain(jump.table, jump.from)) {
        throw new KernelError(`chain "${jump.from}" (${jump.table})`, 'add jump to', `${where(target)}: the chain does not exist`);
      }
      current = [];
    }
    addJump(batch, jump, current);
  }
}

/** Options of {@link applyChains}: where, plus jumps to ensure in the same restore. */
export interface ApplyChainsOptions extends FirewallTarget {
  jumps?: JumpSpec[];
}

/**
 * Creates or replaces the contents of each listed chain (declare, flush, append its rules), and
 * ensures `jumps`, all in one restore call. Idempotent: applying the same specs again leaves the
 * same rules. Chains not listed are not touched.
 * @returns whether a restore ran (false only when there was nothing to write).
 * @throws KernelArgumentError for a chain name that is not `TSNET-…` or longer than 28 characters.
 * @throws KernelFeatureMissingError when iptables is not installed.
 * @throws KernelError (a CommandError) when iptables rejects the script; its stderr names the line.
 */
export async function applyChains(chains: readonly ChainSpec[], opts: ApplyChainsOptions): Promise<boolean> {
  chains.forEach(validateChain);
  const jumps = opts.jumps ?? [];
  jumps.forEach(validateJump);
  return serialised(opts, async () => {
    const batch: RestoreBatch = new Map();
    addChainContents(batch, chains);
    await planJumps(opts, batch, jumps, chains);
    return restore(opts, batch, 'apply chains to');
  });
}

/**
 * Ensures exactly one jump from `jump.from` to `jump.to` with `jump.match`, at the position
 * asked (`first`: rule 1; `last`: appended when missing). Idempotent: writes nothing when it
 * already holds, otherwise deletes stray or differently matched jumps to `to` and adds it, in one
 * restore. `to` must already exist (or be created in the same {@link applyChains} call).
 * @returns whether anything was written.
 * @throws KernelArgumentError, KernelFeatureMissingError, KernelError as {@link applyChains}; also
 * KernelError when `from` is a user chain that does not exist.
 */
export async function ensureJump(jump: JumpSpec, target: FirewallTarget): Promise<boolean> {
  validateJump(jump);
  return serialised(target, async () => {
    const batch: RestoreBatch = new Map();
    await planJumps(target, batch, [jump], []);
    return restore(target, batch, 'add jump to');
  });
}

/** Options of {@link deleteChains}: where, and optionally only some tables. */
export interface DeleteChainsOptions extends FirewallTarget {
  tables?: FirewallTable[];
}

/**
 * Deletes owned chains by name from every table that has them: first every rule elsewhere that
 * jumps to them, then their rules, then the chains, in one restore. Idempotent: missing chains
 * count as deleted.
 * @returns the chains deleted, as `table/NAME`.
 * @throws KernelArgumentError for a name that is not ours; KernelFeatureMissingError; KernelError.
 */
export async function deleteChains(names: readonly string[], opts: DeleteChainsOptions): Promise<string[]> {
  names.forEach(validateChainName);
  if (names.length === 0) return [];
  const tables = opts.tables ?? FIREWALL_TABLES;
  return serialised(opts, async () => {
    const saved = await save(opts, tables.length === 1 ? tables[0] : undefined);
    const batch: RestoreBatch = new Map();
    const deleted: string[] = [];
    for (const table of tables) {
      const t = saved.get(table);
      if (t) deleted.push(...addChainDeletion(batch, table, t, names).map((n) => `${table}/${n}`));
    }
    await restore(opts, batch, 'delete chains from');
    return deleted;
  });
}

/**
 * Lists the chains whose names start with `prefix` (default `TSNET-`) in every table, with their
 * rules as iptables-save prints them (for reconcile and leak checks). Read-only.
 * @throws KernelFeatureMissingError; KernelError when iptables-save fails.
 */
export async function listChains(prefix: string, target: FirewallTarget): Promise<ChainSpec[]> {
  return chainsWithPrefix(await save(target), prefix);
}
