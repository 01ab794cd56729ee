/**
 * @module `logs [-f] [--tail N]` of a detached container: its standard output and error, each to
 * ours, from the files its supervisor handed it. With `-f`, new output is copied until the container
 * stops. (A foreground container writes straight to the terminal and keeps no log.)
 */
import { open, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Engine } from '../engine.js';
import { isRunning } from './status.js';

/** The last `n` lines of `text` (all for undefined). Pure. */
export function tailLines(text: Buffer, n: number | undefined): Buffer {
  if (n === undefined) return text;
  let end = text.length;
  if (end > 0 && text[end - 1] === 0x0a) end--;
  let start = end;
  for (let seen = 0; start > 0; start--) {
    if (text[start - 1] === 0x0a && ++seen === n) break;
  }
  return n === 0 ? Buffer.alloc(0) : text.subarray(start);
}

/** Copies `path` from byte `from` to `out`; returns the new offset. */
async function copyFrom(path: string, from: number, out: NodeJS.WritableStream, tail?: number): Promise<number> {
  const size = (await stat(path).catch(() => undefined))?.size ?? 0;
  if (size <= from) return from;
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(size - from);
    await fh.read(buf, 0, buf.length, from);
    out.write(tailLines(buf, tail));
  } finally {
    await fh.close();
  }
  return size;
}

/** Prints container `id`'s logs; with `follow`, keeps going until it stops. */
export async function printLogs(engine: Engine, id: string, opts: { follow: boolean; tail?: number }): Promise<void> {
  const paths = engine.state.containerLogs(id);
  let out = await copyFrom(paths.stdout, 0, process.stdout, opts.tail);
  let err = await copyFrom(paths.stderr, 0, process.stderr, opts.tail);
  while (opts.follow) {
    const c = await engine.state.containers.get(id);
    const running = c !== undefined && isRunning(c);
    out = await copyFrom(paths.stdout, out, process.stdout);
    err = await copyFrom(paths.stderr, err, process.stderr);
    if (!running) return;
    await sleep(100);
  }
}
