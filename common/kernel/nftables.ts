/**
 * @module nftables tables owned by the suite (`tsnet…`). A change is one `nft -f -` script on stdin,
 * which the kernel commits as ONE transaction: atomic across chains, sets, maps and both IP families
 * (an `inet` table), unlike iptables-restore, which commits each table separately. Every line must
 * act on a table whose name starts with `tsnet`; nothing else is ever written.
 *
 * Cost: `nft` reads the chains of the ruleset before it commits (not the elements of sets and maps),
 * so a script that only adds or deletes set/map elements costs the same however many elements exist.
 * Idempotent removal without reading state: `add element …` then `delete element …` (or `add table` then
 * `delete table`) in one script; the add makes the delete succeed whether or not the object existed.
 */
import { NFT_TABLE_PREFIX } from '../names.js';
import { KernelArgumentError, KernelFeatureMissingError } from './errors.js';
import { CommandError, run } from './exec.js';
import type { NetnsOption } from './link-types.js';

/** Prefix of every nftables table the suite owns (from the registry, common/names.ts). */
export { NFT_TABLE_PREFIX };

/** Address families of nftables tables. */
export type NftFamily = 'inet' | 'ip' | 'ip6' | 'bridge' | 'arp' | 'netdev';

const COMMAND = /^(add|create|insert|replace|delete|flush) (table|chain|set|map|element|rule) (inet|ip|ip6|bridge|arp|netdev) (tsnet[A-Za-z0-9_-]*)( |$)/;

/**
 * Throws {@link KernelArgumentError} unless every line is one nft command on a `tsnet…` table with no
 * line break, NUL or `include`, so a script can never touch a table the suite does not own.
 */
export function validateNftScript(lines: readonly string[]): void {
  for (const line of lines) {
    if (/[\n\r\0]/.test(line)) throw new KernelArgumentError('script', `line ${JSON.stringify(line)} contains a line break or NUL`);
    if (!COMMAND.test(line)) {
      throw new KernelArgumentError('script', `line ${JSON.stringify(line)} is not a command on a table named "${NFT_TABLE_PREFIX}…"`);
    }
  }
}

function where(opts: NetnsOption): string {
  return `nftables${opts.netns ? ` in netns "${opts.netns}"` : ''}`;
}

function nftArgv(opts: NetnsOption, args: string[]): string[] {
  return opts.netns ? ['ip', 'netns', 'exec', opts.netns, 'nft', ...args] : ['nft', ...args];
}

/** Runs nft, turning "not installed" into {@link KernelFeatureMissingError}. */
async function nft(opts: NetnsOption, args: string[], step: string, input?: string): Promise<string> {
  try {
    const runOpts = input === undefined ? { object: where(opts), step } : { object: where(opts), step, input };
    return (await run(nftArgv(opts, args), runOpts)).stdout;
  } catch (err) {
    const missing = err instanceof CommandError && ((err.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT' || /nft.*No such file/.test(err.stderr));
    if (missing) throw new KernelFeatureMissingError('nftables', 'the nft program is not installed', { cause: err });
    throw err;
  }
}

/**
 * Applies `lines` as one nftables transaction: all of it, or (on any error) none of it.
 * @returns whether nft ran (false for an empty script).
 * @throws KernelArgumentError for a line that is not a command on a `tsnet…` table.
 * @throws KernelFeatureMissingError when nft is not installed.
 * @throws KernelError (a CommandError) when nft rejects the script; its message quotes nft's first line.
 */
export async function applyNft(lines: readonly string[], opts: NetnsOption = {}): Promise<boolean> {
  validateNftScript(lines);
  if (lines.length === 0) return false;
  await nft(opts, ['-f', '-'], 'apply script to', `${lines.join('\n')}\n`);
  return true;
}

/** A table as `nft list tables` names it. */
export interface NftTableRef {
  family: NftFamily;
  name: string;
}

/** The tables whose names start with `prefix` (default `tsnet`). Read-only. */
export async function listNftTables(prefix = NFT_TABLE_PREFIX, opts: NetnsOption = {}): Promise<NftTableRef[]> {
  const out = await nft(opts, ['list', 'tables'], 'list tables of');
  const tables: NftTableRef[] = [];
  for (const line of out.split('\n')) {
    const [word, family, name] = line.trim().split(/\s+/);
    if (word === 'table' && family && name?.startsWith(prefix)) tables.push({ family: family as NftFamily, name });
  }
  return tables;
}

/** A value of `nft -j` output: a plain value, a concatenation, a map pair, a prefix, a range or an element with options. */
type NftJsonValue = string | number | NftJsonValue[] | { concat?: NftJsonValue[]; prefix?: { addr: string; len: number }; range?: NftJsonValue[]; elem?: { val: NftJsonValue } };

/** An element as the suite's scripts write it: `a . b` for a concatenation, `key : value` for a map element. */
function renderNftValue(v: NftJsonValue): string {
  if (typeof v === 'string' || typeof v === 'number') return String(v);
  if (Array.isArray(v)) return v.map(renderNftValue).join(' : ');
  if (v.concat) return v.concat.map(renderNftValue).join(' . ');
  if (v.prefix) return `${v.prefix.addr}/${v.prefix.len}`;
  if (v.range) return v.range.map(renderNftValue).join('-');
  if (v.elem) return renderNftValue(v.elem.val);
  return JSON.stringify(v);
}

/**
 * The elements of every set and map of `inet <table>` (a `tsnet…` table), each written as the suite's
 * scripts write it (`tcp . 8080 : 10.0.0.2 . 80`, interface names unquoted); undefined when the table
 * does not exist. Read-only.
 */
export async function listNftElements(table: string, opts: NetnsOption = {}): Promise<Map<string, string[]> | undefined> {
  if (!table.startsWith(NFT_TABLE_PREFIX) || !/^[A-Za-z0-9_-]+$/.test(table)) throw new KernelArgumentError('table', `"${table}" is not a table named "${NFT_TABLE_PREFIX}…"`);
  if (!(await listNftTables(table, opts)).some((t) => t.family === 'inet' && t.name === table)) return undefined;
  const out = JSON.parse(await nft(opts, ['-j', 'list', 'table', 'inet', table], 'list table of')) as { nftables: Array<Record<string, { name: string; elem?: NftJsonValue[] }>> };
  const sets = new Map<string, string[]>();
  for (const item of out.nftables) {
    const s = item.set ?? item.map;
    if (s) sets.set(s.name, (s.elem ?? []).map(renderNftValue));
  }
  return sets;
}
