/**
 * @module A compiler from a seccomp rule list (what a Docker/libseccomp profile says once resolved for
 * one container) to the classic BPF program the kernel runs on every syscall, as the bytes of a
 * `struct sock_filter` array for seccomp(SECCOMP_SET_MODE_FILTER). Pure.
 *
 * Program shape: a foreign architecture (and on x86-64 the x32 ABI) gets EPERM; then one block per
 * syscall, in number order: `jeq nr` over the block, the rules' argument checks (all checks of a rule
 * must hold: 64-bit comparisons made of two 32-bit halves), the rule's action; a syscall no rule
 * matches gets the default action.
 */
import { KernelFeatureMissingError } from './errors.js';
import { syscallTable } from './syscall-table.js';

/** The kernel's SECCOMP_RET_* values (the errno or trace data goes in the low 16 bits). */
export const SECCOMP_RET = {
  killProcess: 0x80000000,
  killThread: 0,
  trap: 0x00030000,
  errno: 0x00050000,
  trace: 0x7ff00000,
  log: 0x7ffc0000,
  allow: 0x7fff0000,
} as const;

/** How one argument is compared (libseccomp's SCMP_CMP_*); `maskedEq` is `(arg & value) == valueTwo`. */
export type ArgOp = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge' | 'maskedEq';

export interface ArgCheck {
  /** Argument number, 0–5. */
  index: number;
  op: ArgOp;
  value: bigint;
  valueTwo: bigint;
}

export interface SeccompRule {
  syscall: string;
  /** The SECCOMP_RET_* value returned when every check holds. */
  action: number;
  args: ArgCheck[];
}

export interface SeccompFilter {
  defaultAction: number;
  /**
   * Rules in priority order. For one syscall, a rule without checks wins over those with checks
   * (as libseccomp does); otherwise the first rule whose checks hold applies.
   */
  rules: SeccompRule[];
}

/** AUDIT_ARCH_* of the architectures with a syscall table. */
const AUDIT_ARCH: Record<string, number> = { x64: 0xc000003e, arm64: 0xc00000b7 };
const X32_SYSCALL_BIT = 0x40000000;

// Classic BPF opcodes (linux/filter.h) and struct seccomp_data offsets.
const LD_ABS = 0x20;
const JEQ = 0x15;
const JGT = 0x25;
const JGE = 0x35;
const AND = 0x54;
const RET = 0x06;
const NR_AT = 0;
const ARCH_AT = 4;
const argAt = (index: number, high: boolean) => 16 + 8 * index + (high ? 4 : 0);

/** A jump target: a number of instructions to skip, or a label placed later in the program. */
type Target = number | string;
interface Insn {
  code: number;
  k: number;
  jt: Target;
  jf: Target;
}
type Item = Insn | { label: string };

const ld = (at: number): Insn => ({ code: LD_ABS, k: at, jt: 0, jf: 0 });
const ret = (k: number): Insn => ({ code: RET, k: k >>> 0, jt: 0, jf: 0 });
const jmp = (code: number, k: number, jt: Target, jf: Target): Insn => ({ code, k: k >>> 0, jt, jf });

const halves = (v: bigint): [hi: number, lo: number] => {
  const u = BigInt.asUintN(64, v);
  return [Number(u >> 32n), Number(u & 0xffffffffn)];
};

/** Code that falls through when the check holds and jumps to `fail` otherwise. */
function checkCode(c: ArgCheck, fail: string, pass: string): Item[] {
  if (!Number.isInteger(c.index) || c.index < 0 || c.index > 5) throw new RangeError(`seccomp argument index ${c.index} out of range 0-5`);
  const [hi, lo] = halves(c.value);
  const hiAt = argAt(c.index, true);
  const loAt = argAt(c.index, false);
  switch (c.op) {
    case 'eq':
      return [ld(hiAt), jmp(JEQ, hi, 0, fail), ld(loAt), jmp(JEQ, lo, 0, fail)];
    case 'ne':
      return [ld(hiAt), jmp(JEQ, hi, 0, pass), ld(loAt), jmp(JEQ, lo, fail, 0), { label: pass }];
    case 'maskedEq': {
      const [dhi, dlo] = halves(c.valueTwo);
      return [ld(hiAt), { code: AND, k: hi, jt: 0, jf: 0 }, jmp(JEQ, dhi, 0, fail), ld(loAt), { code: AND, k: lo, jt: 0, jf: 0 }, jmp(JEQ, dlo, 0, fail)];
    }
    case 'gt':
    case 'ge':
      // high > v.hi: holds; high < v.hi: fails; equal: the low halves decide.
      return [ld(hiAt), jmp(JGT, hi, pass, 0), jmp(JEQ, hi, 0, fail), ld(loAt), jmp(c.op === 'gt' ? JGT : JGE, lo, 0, fail), { label: pass }];
    case 'lt':
    case 'le':
      return [ld(hiAt), jmp(JGT, hi, fail, 0), jmp(JEQ, hi, 0, pass), ld(loAt), jmp(c.op === 'lt' ? JGE : JGT, lo, fail, 0), { label: pass }];
  }
}

/** Resolves labels to the 8-bit forward offsets of classic BPF. */
function assemble(items: Item[]): Buffer {
  const at = new Map<string, number>();
  const insns: Insn[] = [];
  for (const it of items) {
    if ('label' in it) at.set(it.label, insns.length);
    else insns.push(it);
  }
  if (insns.length > 4096) throw new RangeError(`seccomp program too long: ${insns.length} instructions (the kernel takes 4096)`);
  const out = Buffer.alloc(insns.length * 8);
  insns.forEach((ins, i) => {
    const off = (t: Target) => {
      if (typeof t === 'number') return t;
      const d = at.get(t)! - (i + 1);
      if (!(d >= 0 && d <= 255)) throw new RangeError(`seccomp jump to ${t} out of range (${d})`);
      return d;
    };
    out.writeUInt16LE(ins.code, i * 8);
    out.writeUInt8(off(ins.jt), i * 8 + 2);
    out.writeUInt8(off(ins.jf), i * 8 + 3);
    out.writeUInt32LE(ins.k, i * 8 + 4);
  });
  return out;
}

/**
 * Compiles `filter` for `arch` (Node's `process.arch` names). Syscalls the architecture does not
 * have are left out, as libseccomp does.
 * @throws KernelFeatureMissingError for an architecture without a syscall table; RangeError for a
 * malformed check or a program the kernel would refuse.
 */
export function compileSeccomp(filter: SeccompFilter, arch: string = process.arch): Buffer {
  const table = syscallTable(arch);
  const audit = AUDIT_ARCH[arch];
  if (!table || audit === undefined) throw new KernelFeatureMissingError('seccomp', `no syscall table for architecture ${arch}`);
  const bySyscall = new Map<number, SeccompRule[]>();
  for (const r of filter.rules) {
    const nr = table.get(r.syscall);
    if (nr === undefined || r.action >>> 0 === filter.defaultAction >>> 0) continue;
    bySyscall.set(nr, [...(bySyscall.get(nr) ?? []), r]);
  }
  const eperm = SECCOMP_RET.errno | 1;
  const items: Item[] = [ld(ARCH_AT), jmp(JEQ, audit, 1, 0), ret(eperm), ld(NR_AT)];
  if (arch === 'x64') items.push(jmp(JGE, X32_SYSCALL_BIT, 0, 1), ret(eperm));
  let n = 0;
  for (const [nr, rules] of [...bySyscall].sort((a, b) => a[0] - b[0])) {
    const plain = rules.find((r) => r.args.length === 0);
    const next = `s${n++}`;
    items.push(jmp(JEQ, nr, 0, next));
    if (plain) {
      items.push(ret(plain.action));
    } else {
      for (const r of rules) {
        const fail = `s${n++}`;
        for (const c of r.args) items.push(...checkCode(c, fail, `s${n++}`));
        items.push(ret(r.action), { label: fail });
      }
      items.push(ret(filter.defaultAction));
    }
    // Every path through a block ends in a return, so A still holds the number at `next`.
    items.push({ label: next });
  }
  items.push(ret(filter.defaultAction));
  return assemble(items);
}
