#!/usr/bin/env node
/**
 * @module The `tsnet` command (see cli/program.ts): runs the program and turns an error into one
 * line on stderr and exit status 1.
 */
import { buildProgram } from './program.js';

buildProgram()
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    process.stderr.write(`tsnet: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
