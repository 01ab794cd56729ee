import { afterAll, describe } from 'vitest';
import { removeLinksChildBuild } from '../../testing/kernel/links-in-netns.js';
import { isRoot } from '../../testing/kernel/netns.js';
import { runAddressingContract } from './testing/addressing.contract.js';
import { TARGETS } from './testing/links.contract.js';

describe.skipIf(!isRoot)('kernel addressing', () => {
  afterAll(removeLinksChildBuild);
  for (const [label, makeTarget] of TARGETS) runAddressingContract(label, makeTarget);
});
