/**
 * @module Firewall rules as plain data, and the pure steps around them: validating chain names,
 * parsing `iptables-save` output, planning idempotent jumps and deletions, and rendering one
 * `iptables-restore --noflush` script per family. No I/O here; `firewall.ts` runs the programs.
 */
import { CHAIN_PREFIX } from '../names.js';
import { KernelArgumentError } from './errors.js';

/** The iptables tables the suite writes to. */
export type FirewallTable = 'filter' | 'nat' | 'mangle' | 'raw';

/** Every table, in the order a restore script lists them. */
export const FIREWALL_TABLES: readonly FirewallTable[] = ['filter', 'nat', 'mangle', 'raw'];

/** Prefix of every chain the suite owns (from the registry, common/names.ts); nothing else is ever flushed or deleted. */
export { CHAIN_PREFIX };

/** Longest chain name iptables accepts (XT_EXTENSION_MAXNAMELEN - 1). */
export const MAX_CHAIN_NAME = 28;

/** A chain we own and its whole contents: each rule is the argv after `-A NAME`, e.g. `['-s', '10.0.0.0/24', '-j', 'ACCEPT']`. */
export interface ChainSpec {
  table: FirewallTable;
  name: string;
  rules: string[][];
}

/**
 * A jump from a built-in or owned chain into one of ours. The suite keeps exactly one jump per
 * (`table`, `from`, `to`): put per-network conditions inside the target chain, not in many jumps.
 */
export interface JumpSpec {
  table: FirewallTable;
  from: string;
  to: string;
  /** `first`: must be rule 1 of `from` (moved there if it is elsewhere); `last`: appended when missing. */
  position: 'first' | 'last';
  /** Conditions before `-j to`, e.g. `['-i', 'tsbr-1']`. */
  match?: string[];
}

const BUILTIN_CHAINS: Record<FirewallTable, readonly string[]> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
};

/** Whether `chain` is one of the kernel's built-in chains of `table`. */
export function isBuiltinChain(table: FirewallTable, chain: string): boolean {
  return BUILTIN_CHAINS[table].includes(chain);
}

const CHAIN_NAME_RE = /^TSNET-[A-Za-z0-9_.-]+$/;

/** Throws {@link KernelArgumentError} unless `name` is an owned chain name (`TSNET-…`, ≤ 28 characters, no spaces). */
export function validateChainName(name: string): void {
  if (!CHAIN_NAME_RE.test(name)) {
    throw new KernelArgumentError('chain', `"${name}" must start with "${CHAIN_PREFIX}" and use only letters, digits, "_", "." and "-"`);
  }
  if (name.length > MAX_CHAIN_NAME) {
    throw new KernelArgumentError('chain', `"${name}" is ${name.length} characters; iptables allows at most ${MAX_CHAIN_NAME}`);
  }
}

/** Throws {@link KernelArgumentError} unless a jump may be written: `to` is owned, `from` is built in or owned (never Docker's). */
export function validateJump(jump: JumpSpec): void {
  validateChainName(jump.to);
  if (!isBuiltinChain(jump.table, jump.from)) validateChainName(jump.from);
  for (const tok of jump.match ?? []) validateToken('match', tok);
  if (jump.match?.some((t) => t === '-j' || t === '--jump' || t === '-g' || t === '--goto')) {
    throw new KernelArgumentError('match', 'must not contain a target; the jump adds "-j <to>" itself');
  }
}

function validateToken(option: string, tok: string): void {
  if (/[\n\r\0]/.test(tok)) throw new KernelArgumentError(option, `token ${JSON.stringify(tok)} contains a line break or NUL`);
}

/** Throws {@link KernelArgumentError} for an invalid chain spec (name, or a rule token with a line break). */
export function validateChain(chain: ChainSpec): void {
  validateChainName(chain.name);
  for (const rule of chain.rules) {
    if (rule.length === 0) throw new KernelArgumentError('rules', `chain ${chain.name} has an empty rule`);
    for (const tok of rule) validateToken('rules', tok);
  }
}

// ---------------------------------------------------------------------------------------------
// Tokens: iptables-restore splits on blanks and honours double quotes with \" and \\ escapes.

const PLAIN_TOKEN = /^[A-Za-z0-9_.:/,!+@%=^~[\]-]+$/;

/** Quotes one argv token for an iptables-restore line. */
export function quoteToken(tok: string): string {
  if (PLAIN_TOKEN.test(tok)) return tok;
  return `"${tok.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** Renders an argv as one iptables-restore line. */
export function renderLine(argv: readonly string[]): string {
  return argv.map(quoteToken).join(' ');
}

/** Splits one `iptables-save` line into argv tokens (inverse of {@link renderLine}). */
export function tokenize(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inToken = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quoted) {
      if (c === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\')) {
        cur += line[++i];
      } else if (c === '"') {
        quoted = false;
      } else {
        cur += c;
      }
    } else if (c === '"') {
      quoted = true;
      inToken = true;
    } else if (c === ' ' || c === '\t') {
      if (inToken) out.push(cur);
      cur = '';
      inToken = false;
    } else {
      cur += c;
      inToken = true;
    }
  }
  if (inToken) out.push(cur);
  return out;
}

// ---------------------------------------------------------------------------------------------
// iptables-save output

/** One table as `iptables-save` printed it: chain names in order, and each chain's rules as argv. */
export interface SavedTable {
  chains: Map<string, string[][]>;
}

/** Parses `iptables-save` output into tables. Comment lines (including nft warnings) are ignored. */
export function parseSave(text: string): Map<FirewallTable, SavedTable> {
  const tables = new Map<FirewallTable, SavedTable>();
  let current: SavedTable | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      current = { chains: new Map() };
      tables.set(line.slice(1) as FirewallTable, current);
    } else if (line === 'COMMIT') {
      current = undefined;
    } else if (current && line.startsWith(':')) {
      const name = line.slice(1).split(' ')[0] ?? '';
      if (!current.chains.has(name)) current.chains.set(name, []);
    } else if (current && line.startsWith('-A ')) {
      const [, chain, ...rule] = tokenize(line);
      if (chain === undefined) continue;
      const rules = current.chains.get(chain) ?? [];
      rules.push(rule);
      current.chains.set(chain, rules);
    }
  }
  return tables;
}

/** The owned chains in parsed save output whose names start with `prefix`, with their rules. */
export function chainsWithPrefix(saved: Map<FirewallTable, SavedTable>, prefix: string): ChainSpec[] {
  const out: ChainSpec[] = [];
  for (const [table, t] of saved) {
    for (const [name, rules] of t.chains) {
      if (name.startsWith(prefix)) out.push({ table, name, rules });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Comparing a rule we want with the form iptables-save prints it in.

const LONG_OPTIONS: Record<string, string> = {
  '--source': '-s',
  '--src': '-s',
  '--destination': '-d',
  '--dst': '-d',
  '--in-interface': '-i',
  '--out-interface': '-o',
  '--protocol': '-p',
  '--match': '-m',
  '--jump': '-j',
  '--goto': '-g',
};

/**
 * Brings a rule to the form iptables-save prints: short options, a `/32` or `/128` on bare
 * addresses, and no `-m tcp` right after `-p tcp` (save adds that implicit match).
 */
export function canonicalRule(rule: readonly string[]): string[] {
  const toks = rule.map((t) => LONG_OPTIONS[t] ?? t);
  const out: string[] = [];
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i] as string;
    const prev = out[out.length - 1];
    if ((prev === '-s' || prev === '-d') && !t.includes('/')) {
      out.push(t.includes(':') ? `${t}/128` : `${t}/32`);
    } else if (t === '-m' && out[out.length - 2] === '-p' && toks[i + 1] === prev) {
      i++;
    } else {
      out.push(t);
    }
  }
  return out;
}

/** Whether two rules are the same once both are in {@link canonicalRule} form. */
export function sameRule(a: readonly string[], b: readonly string[]): boolean {
  const ca = canonicalRule(a);
  const cb = canonicalRule(b);
  return ca.length === cb.length && ca.every((t, i) => t === cb[i]);
}

/** Whether `rule` jumps (`-j`) or goes (`-g`) to `chain`. */
export function targetsChain(rule: readonly string[], chain: string): boolean {
  return rule.some((t, i) => (t === '-j' || t === '-g') && rule[i + 1] === chain);
}

// ---------------------------------------------------------------------------------------------
// Restore scripts

/** The lines of one table's section, before rendering: declarations first, then ordered edits. */
export interface TableBatch {
  declare: Set<string>;
  edits: string[][];
}

/** A restore script for one family under construction: one {@link TableBatch} per table touched. */
export type RestoreBatch = Map<FirewallTable, TableBatch>;

function section(batch: RestoreBatch, table: FirewallTable): TableBatch {
  let t = batch.get(table);
  if (!t) {
    t = { declare: new Set(), edits: [] };
    batch.set(table, t);
  }
  return t;
}

/** Adds create-or-replace steps for `chains`: declare, flush, then append each rule. */
export function addChainContents(batch: RestoreBatch, chains: readonly ChainSpec[]): void {
  for (const chain of chains) {
    const t = section(batch, chain.table);
    t.declare.add(chain.name);
    t.edits.push(['-F', chain.name]);
    for (const rule of chain.rules) t.edits.push(['-A', chain.name, ...rule]);
  }
}

/**
 * Adds the steps that make `jump` hold, given `current`, the rules now in `jump.from` (after any
 * flush earlier in the same batch). Adds nothing when it already holds; returns whether it added.
 * Jumps to `jump.to` that do not match are deleted, so at most one remains.
 */
export function addJump(batch: RestoreBatch, jump: JumpSpec, current: readonly string[][]): boolean {
  const want = [...(jump.match ?? []), '-j', jump.to];
  const existing = current.filter((r) => targetsChain(r, jump.to));
  const good = existing.length === 1 && sameRule(existing[0] as string[], want);
  if (good && (jump.position === 'last' || current[0] === existing[0])) return false;
  const t = section(batch, jump.table);
  for (const rule of existing) t.edits.push(['-D', jump.from, ...rule]);
  t.edits.push(jump.position === 'first' ? ['-I', jump.from, '1', ...want] : ['-A', jump.from, ...want]);
  return true;
}

/**
 * Adds the steps that delete `names` from a table as `saved` shows it: every rule elsewhere that
 * jumps to one of them, then flush, then `-X`. Names the table lacks are skipped (already gone).
 * Returns the names that will be deleted.
 */
export function addChainDeletion(batch: RestoreBatch, table: FirewallTable, saved: SavedTable, names: readonly string[]): string[] {
  const doomed = names.filter((n) => saved.chains.has(n));
  if (doomed.length === 0) return [];
  const t = section(batch, table);
  for (const [chain, rules] of saved.chains) {
    if (doomed.includes(chain)) continue;
    for (const rule of rules) {
      if (doomed.some((n) => targetsChain(rule, n))) t.edits.push(['-D', chain, ...rule]);
    }
  }
  for (const n of doomed) t.edits.push(['-F', n]);
  for (const n of doomed) t.edits.push(['-X', n]);
  return doomed;
}

/** Renders the batch as one `iptables-restore --noflush` script; an empty batch renders as `''`. */
export function renderBatch(batch: RestoreBatch): string {
  const lines: string[] = [];
  for (const table of FIREWALL_TABLES) {
    const t = batch.get(table);
    if (!t || (t.declare.size === 0 && t.edits.length === 0)) continue;
    lines.push(`*${table}`);
    for (const name of t.declare) lines.push(`:${name} - [0:0]`);
    for (const edit of t.edits) lines.push(renderLine(edit));
    lines.push('COMMIT');
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
