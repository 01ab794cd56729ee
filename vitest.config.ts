import { defineConfig } from 'vitest/config';

// build/ holds the managed plugin's staging (with a copy of production node_modules) and build/tools.
const ignored = ['**/node_modules/**', 'dist/**', 'build/**'];

// Three projects (see docs/testing.md): unit needs no root; root makes throwaway namespaces;
// integration drives real dockerd and the built plugins, one file at a time. Each first brings the
// product build in dist/ up to date: tests start the built plugins, vitest runs the .ts tests.
const build = 'testing/build-setup.ts';
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          globalSetup: [build],
          include: ['**/*.test.ts'],
          exclude: [...ignored, '**/*.root.test.ts', 'integration/**'],
        },
      },
      {
        test: {
          name: 'root',
          globalSetup: [build],
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
          globalSetup: [build, 'testing/docker/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
