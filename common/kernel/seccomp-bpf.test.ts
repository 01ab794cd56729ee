import { describe, expect, it } from 'vitest';
import { KernelFeatureMissingError } from './errors.js';
import { compileSeccomp, SECCOMP_RET, type SeccompFilter } from './seccomp-bpf.js';
import { syscallTable } from './syscall-table.js';

/** Runs a classic BPF seccomp program on one syscall, as the kernel would (the opcodes the compiler emits). */
function runFilter(prog: Buffer, nr: number, args: bigint[] = [], arch = 0xc000003e): number {
  const data = Buffer.alloc(64);
  data.writeUInt32LE(nr, 0);
  data.writeUInt32LE(arch, 4);
  args.forEach((a, i) => data.writeBigUInt64LE(BigInt.asUintN(64, a), 16 + 8 * i));
  let A = 0;
  for (let pc = 0; pc < prog.length / 8; pc++) {
    const [code, jt, jf, k] = [prog.readUInt16LE(pc * 8), prog.readUInt8(pc * 8 + 2), prog.readUInt8(pc * 8 + 3), prog.readUInt32LE(pc * 8 + 4)];
    if (code === 0x20) A = data.readUInt32LE(k);
    else if (code === 0x54) A = (A & k) >>> 0;
    else if (code === 0x06) return k;
    else if (code === 0x15) pc += A === k ? jt : jf;
    else if (code === 0x25) pc += A > k ? jt : jf;
    else if (code === 0x35) pc += A >= k ? jt : jf;
    else throw new Error(`unexpected opcode ${code}`);
  }
  throw new Error('fell off the end of the program');
}

const nr = (name: string) => syscallTable('x64')!.get(name)!;
const EPERM = SECCOMP_RET.errno | 1;

describe('compileSeccomp', () => {
  const filter: SeccompFilter = {
    defaultAction: EPERM,
    rules: [
      { syscall: 'read', action: SECCOMP_RET.allow, args: [] },
      { syscall: 'socket', action: SECCOMP_RET.allow, args: [{ index: 0, op: 'ne', value: 40n, valueTwo: 0n }] },
      { syscall: 'personality', action: SECCOMP_RET.allow, args: [{ index: 0, op: 'eq', value: 0xffffffffn, valueTwo: 0n }] },
      { syscall: 'personality', action: SECCOMP_RET.allow, args: [{ index: 0, op: 'eq', value: 8n, valueTwo: 0n }] },
      { syscall: 'clone', action: SECCOMP_RET.allow, args: [{ index: 0, op: 'maskedEq', value: 0x7e020000n, valueTwo: 0n }] },
      { syscall: 'clone3', action: SECCOMP_RET.errno | 38, args: [] },
      { syscall: 'mmap', action: SECCOMP_RET.allow, args: [{ index: 1, op: 'gt', value: 0x1_0000_0000n, valueTwo: 0n }, { index: 1, op: 'le', value: 0x2_0000_0000n, valueTwo: 0n }] },
      { syscall: 'no_such_syscall', action: SECCOMP_RET.allow, args: [] },
    ],
  };
  const prog = compileSeccomp(filter, 'x64');

  it('allows listed syscalls and refuses the rest with the default action', () => {
    expect(runFilter(prog, nr('read'))).toBe(SECCOMP_RET.allow);
    expect(runFilter(prog, nr('keyctl'))).toBe(EPERM);
    expect(runFilter(prog, nr('clone3'))).toBe(SECCOMP_RET.errno | 38);
  });

  it('compares arguments as 64-bit values, each rule on its own', () => {
    expect(runFilter(prog, nr('socket'), [2n])).toBe(SECCOMP_RET.allow);
    expect(runFilter(prog, nr('socket'), [40n])).toBe(EPERM);
    expect(runFilter(prog, nr('socket'), [40n + (1n << 32n)])).toBe(SECCOMP_RET.allow);
    expect(runFilter(prog, nr('personality'), [8n])).toBe(SECCOMP_RET.allow);
    expect(runFilter(prog, nr('personality'), [0xffffffffn])).toBe(SECCOMP_RET.allow);
    expect(runFilter(prog, nr('personality'), [0xffffffffn + (1n << 32n)])).toBe(EPERM);
    expect(runFilter(prog, nr('personality'), [1n])).toBe(EPERM);
  });

  it('checks masked flags: clone without new namespaces only', () => {
    expect(runFilter(prog, nr('clone'), [0x01200011n])).toBe(SECCOMP_RET.allow); // fork's flags
    expect(runFilter(prog, nr('clone'), [0x10000000n | 0x11n])).toBe(EPERM); // CLONE_NEWUSER
  });

  it('needs every check of a rule to hold (ranges across the 32-bit halves)', () => {
    expect(runFilter(prog, nr('mmap'), [0n, 0x1_0000_0001n])).toBe(SECCOMP_RET.allow);
    expect(runFilter(prog, nr('mmap'), [0n, 0x2_0000_0000n])).toBe(SECCOMP_RET.allow);
    expect(runFilter(prog, nr('mmap'), [0n, 0x1_0000_0000n])).toBe(EPERM);
    expect(runFilter(prog, nr('mmap'), [0n, 0x2_0000_0001n])).toBe(EPERM);
    expect(runFilter(prog, nr('mmap'), [0n, 0xffff_ffffn])).toBe(EPERM);
  });

  it('refuses other architectures and the x32 ABI', () => {
    expect(runFilter(prog, nr('read'), [], 0x40000003)).toBe(EPERM);
    expect(runFilter(prog, 0x40000000 | nr('read'))).toBe(EPERM);
  });

  it('lets an unconditional rule win and leaves out rules that repeat the default', () => {
    const p = compileSeccomp({ defaultAction: EPERM, rules: [
      { syscall: 'socket', action: SECCOMP_RET.allow, args: [{ index: 0, op: 'eq', value: 1n, valueTwo: 0n }] },
      { syscall: 'socket', action: SECCOMP_RET.log, args: [] },
      { syscall: 'read', action: EPERM, args: [] },
    ] }, 'x64');
    expect(runFilter(p, nr('socket'), [1n])).toBe(SECCOMP_RET.log);
    expect(p.length / 8).toBe(9);
  });

  it('compiles for arm64 and refuses an architecture it has no table for', () => {
    const p = compileSeccomp({ defaultAction: EPERM, rules: [{ syscall: 'read', action: SECCOMP_RET.allow, args: [] }] }, 'arm64');
    expect(runFilter(p, 63, [], 0xc00000b7)).toBe(SECCOMP_RET.allow);
    expect(() => compileSeccomp(filter, 'mips')).toThrow(KernelFeatureMissingError);
  });
});
