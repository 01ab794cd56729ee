/**
 * @module Throwaway network namespaces for kernel tests. Each gets a random `tstest-` name and is
 * deleted when the test finishes, pass or fail; links inside it go with it.
 */
import { randomBytes } from 'node:crypto';
import { onTestFinished } from 'vitest';
import { deleteNetns, ensureNetns } from '../../common/kernel/netns.js';

/** Prefix of every namespace a test makes; the leak check looks for it. */
export const TEST_NETNS_PREFIX = 'tstest-';

/** A random name with the given prefix that fits the 15-byte interface limit when prefix ≤ 7 bytes. */
export function randomName(prefix: string, hexChars = 8): string {
  return prefix + randomBytes(Math.ceil(hexChars / 2)).toString('hex').slice(0, hexChars);
}

/** Creates a namespace for the current test and registers its deletion. Returns its name. */
export async function makeTestNetns(): Promise<string> {
  const name = randomName(TEST_NETNS_PREFIX);
  onTestFinished(() => deleteNetns(name));
  await ensureNetns(name);
  return name;
}

/** Whether the tests run as root (kernel and integration projects need it). */
export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
