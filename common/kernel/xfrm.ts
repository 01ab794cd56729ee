/**
 * @module IPsec (kernel xfrm) states and policies of encrypted overlays, through `ip xfrm` run by
 * exec.ts. Ours are recognised by their reqid: {@link REQID_BASE} + the VNI (the top byte 0x74, "t"),
 * which no other tool on a host picks by accident; leak checks and doctor find them by that range.
 *
 * Keys never appear in an argv (visible in `ps`) nor in an error: states are added through
 * `ip -batch -` on standard input, and a failure reports the first line of ip's stderr only.
 */
import { KernelFeatureMissingError } from './errors.js';
import { CommandError, run } from './exec.js';
import type { NetnsOption } from './link-types.js';

/** Our reqids: `REQID_BASE | vni` (VNIs are 24 bits). */
export const REQID_BASE = 0x7400_0000;
export const REQID_MASK = 0xff00_0000;
/** Whether a reqid is one of ours. */
export const isOurReqid = (reqid: number) => (reqid & REQID_MASK) >>> 0 === REQID_BASE;

/** AES-GCM with a 16-byte ICV as ESP's AEAD; the key is 32 bytes of AES-256 plus a 4-byte salt. */
export const AEAD_ALGORITHM = 'rfc4106(gcm(aes))';
export const AEAD_KEY_BYTES = 36;
export const AEAD_ICV_BITS = 128;

/** One ESP security association in transport mode, one direction between two addresses. */
export interface XfrmState {
  src: string;
  dst: string;
  spi: number;
  reqid: number;
  /** Hex, {@link AEAD_KEY_BYTES} bytes; absent in listings (never read back). */
  key?: string;
}

/**
 * One policy on UDP from `src` to `dst` port `dport`, in direction `dir`: it must be ESP of `reqid`;
 * or, with `block`, it is dropped (a catch-all, `0.0.0.0/0` or `::/0` on one side, below every ESP
 * policy: its priority is `reqid`, a larger number than the ESP policies' 0, and marks it as ours).
 */
export interface XfrmPolicy {
  /** An address, or `0.0.0.0/0` / `::/0` (block policies). */
  src: string;
  dst: string;
  dport: number;
  dir: 'in' | 'out';
  reqid: number;
  block?: true;
}

/** One change, applied in order by {@link applyXfrm}. */
export type XfrmChange =
  | { add: 'state'; state: XfrmState & { key: string } }
  | { del: 'state'; state: XfrmState }
  | { add: 'policy'; policy: XfrmPolicy }
  | { del: 'policy'; policy: XfrmPolicy };

const where = (opts: NetnsOption) => (opts.netns ? ` in netns "${opts.netns}"` : '');
const ipArgv = (opts: NetnsOption, args: string[]) => (opts.netns ? ['ip', '-n', opts.netns, ...args] : ['ip', ...args]);
const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;

function policyArgs(p: XfrmPolicy): string {
  return `src ${p.src} dst ${p.dst} proto udp dport ${p.dport} dir ${p.dir}`;
}

/** The `ip -batch` line of one change. */
export function changeLine(c: XfrmChange): string {
  if ('add' in c && c.add === 'state') {
    const s = c.state;
    return `xfrm state update src ${s.src} dst ${s.dst} proto esp spi ${hex(s.spi)} reqid ${s.reqid} mode transport aead ${AEAD_ALGORITHM} 0x${s.key} ${AEAD_ICV_BITS}`;
  }
  if ('del' in c && c.del === 'state') return `xfrm state delete src ${c.state.src} dst ${c.state.dst} proto esp spi ${hex(c.state.spi)}`;
  if ('add' in c) {
    const p = c.policy;
    if (p.block) return `xfrm policy update ${policyArgs(p)} action block priority ${p.reqid}`;
    const tmpl = p.dir === 'out' ? `tmpl src ${p.src} dst ${p.dst} proto esp reqid ${p.reqid} mode transport` : `tmpl proto esp reqid ${p.reqid} mode transport`;
    return `xfrm policy update ${policyArgs(p)} ${tmpl}`;
  }
  return `xfrm policy delete ${policyArgs(c.policy)}`;
}

/** Applies changes in one `ip -batch -` (`-force`: a delete of something already gone does not stop the rest). */
export async function applyXfrm(changes: readonly XfrmChange[], opts: NetnsOption = {}): Promise<void> {
  if (changes.length === 0) return;
  const input = changes.map(changeLine).join('\n') + '\n';
  try {
    await run(ipArgv(opts, ['-force', '-batch', '-']), { input, object: `xfrm states and policies${where(opts)}`, step: 'apply' });
  } catch (err) {
    // A delete of an object already gone is fine (idempotent); anything else fails.
    if (err instanceof CommandError && err.stderr.split('\n').every((l) => l.trim() === '' || /No such (file|process)|Command failed -:\d+/.test(l))) return;
    throw err;
  }
}

/** A state's SPI and reqid, as `ip xfrm state` prints them (with `-s`, each followed by another form in brackets). */
const STATE_ID = /proto esp spi (0x[0-9a-f]+)(?:\(\d+\))? reqid (\d+)/;

/** Parses `ip [-s] xfrm state list` output (keys are not kept). */
export function parseStates(text: string): XfrmState[] {
  const out: XfrmState[] = [];
  for (const block of text.split(/\n(?=src )/)) {
    const head = /^src (\S+) dst (\S+)/.exec(block);
    const body = STATE_ID.exec(block);
    if (head && body) out.push({ src: head[1]!, dst: head[2]!, spi: Number(body[1]), reqid: Number(body[2]) });
  }
  return out;
}

/** Parses `ip xfrm policy list` output: UDP policies with an ESP template, and UDP block policies (reqid: their priority). */
export function parsePolicies(text: string): XfrmPolicy[] {
  const out: XfrmPolicy[] = [];
  for (const block of text.split(/\n(?=src )/)) {
    // Host addresses print with /32 or /128, which the policies we make leave out; catch-alls keep /0.
    const sel = /^src (\S+?)(?:\/(?:32|128))? dst (\S+?)(?:\/(?:32|128))? proto udp dport (\d+)/.exec(block);
    const dir = /\bdir (in|out) (action block )?priority (\d+)/.exec(block);
    const tmpl = /proto esp reqid (\d+)/.exec(block);
    if (!sel || !dir) continue;
    const base = { src: sel[1]!, dst: sel[2]!, dport: Number(sel[3]), dir: dir[1] as 'in' | 'out' };
    if (dir[2]) out.push({ ...base, reqid: Number(dir[3]), block: true });
    else if (tmpl) out.push({ ...base, reqid: Number(tmpl[1]) });
  }
  return out;
}

/** Our states and policies (reqid in our range). */
export async function listXfrm(opts: NetnsOption = {}): Promise<{ states: XfrmState[]; policies: XfrmPolicy[] }> {
  const step = 'list';
  const [s, p] = await Promise.all([
    run(ipArgv(opts, ['xfrm', 'state', 'list']), { object: `xfrm states${where(opts)}`, step }),
    run(ipArgv(opts, ['xfrm', 'policy', 'list']), { object: `xfrm policies${where(opts)}`, step }),
  ]);
  return { states: parseStates(s.stdout).filter((x) => isOurReqid(x.reqid)), policies: parsePolicies(p.stdout).filter((x) => isOurReqid(x.reqid)) };
}

/** Bytes through each of our states so far, by SPI, from `ip -s xfrm state list` output. */
export function parseStateBytes(text: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const block of text.split(/\n(?=src )/)) {
    const body = STATE_ID.exec(block);
    const cur = /lifetime current:\s*\n\s*(\d+)\(bytes\)/.exec(block);
    if (body && cur && isOurReqid(Number(body[2]))) out.set(Number(body[1]), Number(cur[1]));
  }
  return out;
}

/** Bytes through each of our states so far, by SPI (`ip -s xfrm state`). */
export async function stateBytes(opts: NetnsOption = {}): Promise<Map<number, number>> {
  const { stdout } = await run(ipArgv(opts, ['-s', 'xfrm', 'state', 'list']), { object: `xfrm states${where(opts)}`, step: 'read counters of' });
  return parseStateBytes(stdout);
}

/** The SPI the probe uses: in no peer's range (SPIs of overlays come from a hash, never all ones). */
const PROBE_SPI = 0xffff_fff0;

/**
 * Whether this kernel can run encrypted overlays: ESP in transport mode with {@link AEAD_ALGORITHM}.
 * Adds and removes one state between two documentation addresses (192.0.2.1 → 192.0.2.2).
 * @throws KernelFeatureMissingError naming each missing feature and its kernel option.
 */
export async function requireEspAead(opts: NetnsOption = {}): Promise<void> {
  const missing: string[] = [];
  const tryState = async (alg: string): Promise<string> => {
    const line = `xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi ${hex(PROBE_SPI)} reqid ${REQID_BASE} mode transport ${alg}\n`;
    try {
      await run(ipArgv(opts, ['-batch', '-']), { input: line, object: `xfrm probe${where(opts)}`, step: 'add' });
      await run(ipArgv(opts, ['xfrm', 'state', 'delete', 'src', '192.0.2.1', 'dst', '192.0.2.2', 'proto', 'esp', 'spi', hex(PROBE_SPI)]), { object: 'xfrm probe', step: 'delete' });
      return '';
    } catch (err) {
      if (err instanceof CommandError) return err.stderr;
      throw err;
    }
  };
  const aead = await tryState(`aead ${AEAD_ALGORITHM} 0x${'00'.repeat(AEAD_KEY_BYTES)} ${AEAD_ICV_BITS}`);
  if (/AEAD algorithm not found/i.test(aead)) missing.push(`AEAD ${AEAD_ALGORITHM} (CONFIG_CRYPTO_GCM)`);
  // Without the AEAD the kernel stops before looking at the protocol: ask again with the null cipher.
  const esp = missing.length > 0 ? await tryState('enc ecb(cipher_null) ""') : aead;
  if (/type not found|protocol not supported/i.test(esp)) missing.unshift('IPsec ESP (CONFIG_INET_ESP / CONFIG_INET6_ESP)');
  if (missing.length > 0) throw new KernelFeatureMissingError('xfrm-esp-aead', `encrypted overlays need ${missing.join(' and ')}, which this kernel lacks`);
  if (aead !== '') throw new KernelFeatureMissingError('xfrm-esp-aead', `adding an ESP ${AEAD_ALGORITHM} state failed: ${aead.split('\n')[0]}`);
}
