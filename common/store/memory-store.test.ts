import { MemoryStore } from './memory-store.js';
import { runStoreContract } from './testing/store.contract.js';

runStoreContract('memory', async () => new MemoryStore());
