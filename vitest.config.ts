import { defineConfig } from 'vitest/config';

// build/ holds the managed plugin's staging, with a copy of production node_modules.
const ignored = ['**/node_modules/**', 'dist/**', 'build/**'];

// Three projects (see README "Tests"): unit needs no root; root makes throwaway namespaces;
// integration drives real dockerd and the built plugins, one file at a time.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['**/*.test.ts'],
          exclude: [...ignored, '**/*.root.test.ts', 'integration/**'],
        },
      },
      {
        test: {
          name: 'root',
          include: ['**/*.root.test.ts'],
          exclude: [...ignored, 'integration/**'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['integration/**/*.test.ts'],
          exclude: ignored,
          globalSetup: ['testing/docker/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
