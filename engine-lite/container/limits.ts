/**
 * @module `--memory`, `--cpus` and `--pids-limit` as docker parses them. Pure.
 */
import { availableParallelism } from 'node:os';
import { InvalidArgumentError } from '../errors.js';

const MEMORY_RE = /^(\d+(?:\.\d+)?) ?([kmgtp])?i?b?$/i;
const SHIFT: Record<string, number> = { '': 0, k: 10, m: 20, g: 30, t: 40, p: 50 };
/** Docker's floor for `--memory`. */
const MIN_MEMORY = 6 * 1024 * 1024;

/** `16m`, `1.5g`, `1048576` (binary units, as docker's RAMInBytes) → bytes. @throws InvalidArgumentError */
export function parseMemory(text: string): number {
  const m = MEMORY_RE.exec(text.trim());
  if (!m) throw new InvalidArgumentError(`invalid size: '${text}'`);
  const bytes = Math.floor(Number(m[1]) * 2 ** SHIFT[(m[2] ?? '').toLowerCase()]!);
  if (bytes < MIN_MEMORY) throw new InvalidArgumentError('Minimum memory limit allowed is 6MB');
  return bytes;
}

/** `--cpus 1.5` → nano-CPUs, within 0.01 and the number of CPUs. @throws InvalidArgumentError */
export function parseCpus(text: string, cpuCount = availableParallelism()): number {
  const v = Number(text);
  if (!/^\d*\.?\d+$/.test(text.trim()) || !Number.isFinite(v)) throw new InvalidArgumentError(`invalid argument "${text}" for "--cpus" flag: not a number`);
  const nano = Math.round(v * 1e9);
  if (nano < 1e7 || nano > cpuCount * 1e9) {
    throw new InvalidArgumentError(`range of CPUs is from 0.01 to ${cpuCount}.00, as there are only ${cpuCount} CPUs available`);
  }
  return nano;
}

/** `--pids-limit N`; 0 or less means unlimited (0). @throws InvalidArgumentError */
export function parsePidsLimit(text: string): number {
  if (!/^-?\d+$/.test(text.trim())) throw new InvalidArgumentError(`invalid argument "${text}" for "--pids-limit" flag: not an integer`);
  return Math.max(0, Number(text));
}
