import { afterAll, describe } from 'vitest';
import { removeLinksChildBuild } from '../../testing/kernel/links-in-netns.js';
import { isRoot } from '../../testing/kernel/netns.js';
import { TARGETS, runLinksContract } from './testing/links.contract.js';

describe.skipIf(!isRoot)('kernel links', () => {
  afterAll(removeLinksChildBuild);
  for (const [label, makeTarget] of TARGETS) runLinksContract(label, makeTarget);
});
